import { PEER_ID_MAX_LENGTH } from './limits.js';
import * as z from './zod.js';
import { described } from './zod.js';

/** The two kinds of peers: `mpc` servers (MPC nodes) and `cli` servers (co-signers). */
export const PeerTypeSchema = z
  .enum(['cli', 'mpc'])
  .apply(described, 'The kind of peer: cli (co-signer) or mpc (MPC node)');
export type PeerType = z.infer<typeof PeerTypeSchema>;

/**
 * A peer id: 1 to 128 characters among letters, digits, `_`, `-` and `.`. UUIDs and the original demo's
 * ids (`cli123`, `IgniterC56D`) fit; `:` is excluded because token subjects are `TYPE:ID`.
 */
export const PeerIdSchema = z
  .string()
  .check(
    z.minLength(1, { message: 'must not be empty', abort: true }),
    z.maxLength(PEER_ID_MAX_LENGTH, {
      message: `must be at most ${PEER_ID_MAX_LENGTH} characters`,
      abort: true,
    }),
    z.regex(/^[A-Za-z0-9_.-]+$/, 'may only contain letters, digits, "_", "-" and "."'),
  )
  .apply(described, 'A peer id (cliId or mpcId)');
export type PeerId = z.infer<typeof PeerIdSchema>;

/**
 * Ids the relay itself uses as `from` (its broadcast is `{"operationType":"broadcast","from":"relay",...}`):
 * no peer may connect under one (compared case-insensitively), so no peer's frame can pass for the relay's.
 */
export const RESERVED_PEER_IDS: readonly string[] = ['relay'];

export function isReservedPeerId(id: string): boolean {
  return RESERVED_PEER_IDS.includes(id.toLowerCase());
}

/** A peer's full identity as the relay knows it from the authenticated connection. */
export interface PeerIdentity {
  type: PeerType;
  id: PeerId;
}

/** The token subject naming a peer, `cli:ID` or `mpc:ID`. */
export function peerSubject(peer: PeerIdentity): string {
  return `${peer.type}:${peer.id}`;
}

/** Parses a token subject (`cli:ID` / `mpc:ID`); undefined when it names no valid peer. */
export function parsePeerSubject(subject: string): PeerIdentity | undefined {
  const separator = subject.indexOf(':');
  if (separator < 0) return undefined;
  const type = PeerTypeSchema.safeParse(subject.slice(0, separator));
  const id = PeerIdSchema.safeParse(subject.slice(separator + 1));
  return type.success && id.success ? { type: type.data, id: id.data } : undefined;
}
