/**
 * Which mpcs a co-signer signs for. The list comes from the command line / environment
 * (`--allow-mpc a,b`, MPC_RELAY_ALLOW_MPC) and/or the `peers` claim of the co-signer's own token
 * (the relay enforces that claim too). With both, an mpc must be on both. No list at all is an
 * error unless "any mpc" is chosen explicitly.
 */
import { PeerIdSchema } from '@mpc-relay/protocol';

export const ALLOW_MPC_ENV = 'MPC_RELAY_ALLOW_MPC';

export class AllowListError extends Error {
  readonly code = 'ALLOW_LIST';
}

/** Parses `a,b,c` (spaces ignored) into peer ids; throws AllowListError naming a bad one. */
export function parseAllowList(text: string): string[] {
  const ids = text
    .split(',')
    .map((id) => id.trim())
    .filter((id) => id !== '');
  for (const id of ids) {
    if (!PeerIdSchema.safeParse(id).success)
      throw new AllowListError(`invalid mpc id ${JSON.stringify(id)} in the allow-list`);
  }
  return ids;
}

/**
 * The `peers` claim of a JWT (an array of ids, or a comma-separated string), read without
 * verifying the token: the relay verifies it; this only reads what the token already allows.
 * Undefined when the token is not a JWT or has no such claim.
 */
export function peersClaim(token: string | undefined): string[] | undefined {
  if (!token) return undefined;
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  let payload: unknown;
  try {
    payload = JSON.parse(Buffer.from(parts[1] as string, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  const claim = (payload as { peers?: unknown } | null)?.peers;
  if (Array.isArray(claim)) return parseAllowList(claim.filter((id) => typeof id === 'string').join(','));
  if (typeof claim === 'string') return parseAllowList(claim);
  return undefined;
}

export interface AllowList {
  /** True when `mpcId` may be signed for. */
  allows(mpcId: string): boolean;
  /** `any mpc`, or the ids and where they came from: for the start line. */
  readonly description: string;
  readonly any: boolean;
  readonly ids: readonly string[] | undefined;
}

/** Builds the allow-list; throws AllowListError when there is none and `allowAny` is not set. */
export function buildAllowList(sources: {
  list?: string[] | undefined;
  token?: string | undefined;
  allowAny?: boolean;
}): AllowList {
  const fromToken = peersClaim(sources.token);
  const fromList = sources.list;
  if (!fromList && !fromToken) {
    if (!sources.allowAny) {
      throw new AllowListError(
        `no mpc allow-list: give --allow-mpc ID[,ID...] (or ${ALLOW_MPC_ENV}, or a token with a peers claim), or --allow-any-mpc to sign for any mpc`,
      );
    }
    return { allows: () => true, description: 'any mpc (--allow-any-mpc)', any: true, ids: undefined };
  }
  let ids: string[];
  let where: string;
  if (fromList && fromToken) {
    ids = fromList.filter((id) => fromToken.includes(id));
    where = 'the allow-list and the token peers claim (both)';
  } else if (fromList) {
    ids = fromList;
    where = 'the allow-list';
  } else {
    ids = fromToken as string[];
    where = 'the token peers claim';
  }
  const set = new Set(ids);
  return {
    allows: (mpcId) => set.has(mpcId),
    description: `${ids.length === 0 ? 'no mpc' : ids.join(', ')} (${where})`,
    any: false,
    ids,
  };
}
