import type { PeerIdentity } from '@mpc-relay/protocol';
import type { AuthModeName } from '../config.js';
import { header } from '../events.js';
import { jwtAuthMode } from './jwt.js';
import { queryPeer } from './peer.js';

export { queryPeer } from './peer.js';

/** What an auth mode sees of the `$connect` request. */
export interface AuthRequest {
  headers: Record<string, string | undefined>;
  query: Record<string, string | undefined>;
  connectionId: string | undefined;
}

/**
 * `allow`: the handshake proceeds (`peer` is the identity every later event carries; absent when
 * the query names none, and `$connect` then refuses with 400). `deny`: 403. `unauthorized`: 401.
 * Reasons (and `log`, extra fields for the log line: never a token) go to the log only, never to
 * the client.
 */
export type AuthDecision =
  | {
      effect: 'allow';
      peer: PeerIdentity | undefined;
      teams?: readonly string[];
      /** jwt: the token's `peers` claim (the only counterparts allowed); absent: no restriction. */
      peers?: readonly string[];
      /**
       * jwt: the token's `exp` (epoch seconds) and the clock-skew tolerance applied to it; carried
       * in the authorizer context so every later frame can be refused once the token expired.
       */
      tokenExpiry?: { exp: number; skewSeconds: number };
      reason?: string;
      log?: Record<string, unknown>;
    }
  | { effect: 'deny'; reason: string; log?: Record<string, unknown> }
  | { effect: 'unauthorized'; reason: string; log?: Record<string, unknown> };

/** The seam for authentication: `static` (v1) and `jwt` (signed tokens, `./jwt.ts`). */
export interface AuthMode {
  readonly name: AuthModeName;
  authorize(request: AuthRequest): Promise<AuthDecision>;
}

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
