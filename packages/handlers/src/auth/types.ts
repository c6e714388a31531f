// The auth mode seam on its own: the modes (static in modes.ts, jwt in jwt.ts) implement it, and
// modes.ts picks one by name, so neither mode has to import the module that registers it.
import type { PeerIdentity } from '@mpc-relay/protocol';
import type { AuthModeName } from '../config.js';

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
