import type { AuthModeName } from '../config.js';
import { header } from '../events.js';
import { jwtAuthMode } from './jwt.js';
import { queryPeer } from './peer.js';
import type { AuthMode } from './types.js';

export { queryPeer } from './peer.js';

/**
 * The original demo's mode: `Authorization: Allow` allows, any other value (`Deny`) denies (403), no header
 * gives 401. The identity is whatever the query names: fine for local and dev stacks only.
 */
export const staticAuthMode: AuthMode = {
  name: 'static',
  async authorize(request) {
    const value = header(request.headers, 'authorization')?.trim();
    if (!value) return { effect: 'unauthorized', reason: 'no Authorization header' };
    if (value !== 'Allow') return { effect: 'deny', reason: 'Authorization is not "Allow"' };
    const peer = queryPeer(request.query);
    return peer
      ? { effect: 'allow', peer }
      : { effect: 'allow', peer: undefined, reason: 'invalid connect query: $connect answers 400' };
  },
};

const MODES: Record<AuthModeName, AuthMode> = { static: staticAuthMode, jwt: jwtAuthMode };

/** Replaces a mode (tests, or another token scheme behind the same name). */
export function registerAuthMode(mode: AuthMode): void {
  MODES[mode.name] = mode;
}

export function authModeFor(name: AuthModeName): AuthMode {
  return MODES[name];
}
