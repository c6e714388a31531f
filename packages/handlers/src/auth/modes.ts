import { type PeerIdentity, parseConnectParams } from '@mpc-relay/protocol';
import type { AuthModeName } from '../config.js';
import { header } from '../events.js';

/** What an auth mode sees of the `$connect` request. */
export interface AuthRequest {
  headers: Record<string, string | undefined>;
  query: Record<string, string | undefined>;
  connectionId: string | undefined;
}

/**
 * `allow`: the handshake proceeds (`peer` is the identity every later event carries; absent when
 * the query names none, and `$connect` then refuses with 400). `deny`: 403. `unauthorized`: 401.
 * Reasons go to the log only, never to the client.
 */
export type AuthDecision =
  | { effect: 'allow'; peer: PeerIdentity | undefined; teams?: readonly string[]; reason?: string }
  | { effect: 'deny'; reason: string }
  | { effect: 'unauthorized'; reason: string };

/** The seam for authentication: `static` today, `jwt` in issue 7 (same interface). */
export interface AuthMode {
  readonly name: AuthModeName;
  authorize(request: AuthRequest): Promise<AuthDecision>;
}

/** The peer the connect query names, or undefined (then `$connect` answers 400). */
export function queryPeer(query: AuthRequest['query']): PeerIdentity | undefined {
  const parsed = parseConnectParams(query);
  return parsed.ok ? parsed.value : undefined;
}

/**
 * The seed's mode: `Authorization: Allow` allows, any other value (`Deny`) denies (403), no header
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

/** Until issue 7 lands, `jwt` fails closed: nobody connects on a stack configured for tokens. */
export const jwtAuthModePending: AuthMode = {
  name: 'jwt',
  async authorize() {
    return { effect: 'deny', reason: 'AUTH_MODE=jwt is not implemented yet (issue 7): failing closed' };
  },
};

const MODES: Record<AuthModeName, AuthMode> = { static: staticAuthMode, jwt: jwtAuthModePending };

/** Issue 7 registers the real jwt mode here. */
export function registerAuthMode(mode: AuthMode): void {
  MODES[mode.name] = mode;
}

export function authModeFor(name: AuthModeName): AuthMode {
  return MODES[name];
}
