import * as z from 'zod';
import { ErrorCode } from './errors.js';
import { type PeerIdentity, PeerIdSchema } from './ids.js';
import { type DecodeResult, issuesFromZod, PARSE_OPTIONS } from './result.js';

/** WebSocket subprotocol that opts a connection into protocol v2 (message ids and acknowledgements). */
export const PROTOCOL_V2 = 'mpc-relay.v2';

/** Query parameter that may carry the token for clients that cannot set an `Authorization` header. */
export const TOKEN_QUERY_PARAMETER = 'token';

/**
 * The query string of the connect URL: `?type=cli&cliId=ID` or `?type=mpc&mpcId=ID`, plus an
 * optional `token`. Other parameters are ignored.
 */
export const ConnectParamsSchema = z.discriminatedUnion('type', [
  z.looseObject({ type: z.literal('cli'), cliId: PeerIdSchema, token: z.string().min(1).optional() }),
  z.looseObject({ type: z.literal('mpc'), mpcId: PeerIdSchema, token: z.string().min(1).optional() }),
]);
export type ConnectParams = z.infer<typeof ConnectParamsSchema>;

/** Validates connect query parameters and returns the peer they name. Never throws. */
export function parseConnectParams(
  query: Record<string, string | undefined> | null | undefined,
): DecodeResult<PeerIdentity> {
  const parsed = ConnectParamsSchema.safeParse(query ?? {}, PARSE_OPTIONS);
  if (!parsed.success) {
    const issues = issuesFromZod(parsed.error);
    return {
      ok: false,
      error: {
        code: ErrorCode.InvalidFrame,
        message: `invalid connect parameters: ${issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ')} (expected ?type=cli&cliId=ID or ?type=mpc&mpcId=ID)`,
        issues,
      },
    };
  }
  const params = parsed.data;
  return {
    ok: true,
    value: params.type === 'cli' ? { type: 'cli', id: params.cliId } : { type: 'mpc', id: params.mpcId },
  };
}
