import { ErrorCode } from './errors.js';
import { isReservedPeerId, type PeerIdentity, PeerIdSchema } from './ids.js';
import { type DecodeResult, issuesFromZod, PARSE_OPTIONS } from './result.js';
import * as z from './zod.js';
import { described } from './zod.js';

/** WebSocket subprotocol that opts a connection into protocol v2 (message ids and acknowledgements). */
export const PROTOCOL_V2 = 'mpc-relay.v2';

/**
 * The marker a v2 client puts in its `getConnectionId` and `ping` frames (`"v":2`): API Gateway's
 * authorizer context cannot carry the negotiated subprotocol, so this tells the relay, without a
 * DynamoDB read, that the caller speaks v2 (its `sendServer` frames say so with `clientMsgId`).
 * v1 clients never send it. Extra fields are allowed on every client frame, so the marker is
 * backward compatible.
 */
export const PROTOCOL_V2_MARKER = 2;

/** Whether a client frame carries the v2 marker `"v":2`. */
export function hasV2Marker(frame: unknown): boolean {
  return (
    frame !== null && typeof frame === 'object' && (frame as Record<string, unknown>).v === PROTOCOL_V2_MARKER
  );
}

/** Query parameter that may carry the token for clients that cannot set an `Authorization` header. */
export const TOKEN_QUERY_PARAMETER = 'token';

/**
 * The query string of the connect URL: `?type=cli&cliId=ID` or `?type=mpc&mpcId=ID`, plus an
 * optional `token`. Other parameters are ignored.
 */
/** A peer id a connection may claim: any peer id but the relay's own (`RESERVED_PEER_IDS`). */
const ConnectPeerIdSchema = PeerIdSchema.check(
  z.refine((id) => !isReservedPeerId(id), 'is reserved for the relay itself'),
).apply(described, 'A peer id (cliId or mpcId); "relay" is reserved');

export const ConnectParamsSchema = z.discriminatedUnion('type', [
  z.looseObject({
    type: z.literal('cli'),
    cliId: ConnectPeerIdSchema,
    token: z.optional(z.string().check(z.minLength(1))),
  }),
  z.looseObject({
    type: z.literal('mpc'),
    mpcId: ConnectPeerIdSchema,
    token: z.optional(z.string().check(z.minLength(1))),
  }),
]);
export type ConnectParams = z.infer<typeof ConnectParamsSchema>;

/** Validates connect query parameters and returns the peer they name. Never throws. */
export function parseConnectParams(
  query: Record<string, string | undefined> | null | undefined,
): DecodeResult<PeerIdentity> {
  const parsed = z.safeParse(ConnectParamsSchema, query ?? {}, PARSE_OPTIONS);
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
