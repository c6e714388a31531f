import { encodeCliDelivery, OperationTypeSchema, type PeerType } from '@mpc-relay/protocol';
import { loadConfig } from '../config.js';
import { postToConnections } from '../delivery/fan-out.js';
import { digest, logger } from '../logger.js';
import { count } from '../metrics.js';
import { managementEndpoint, posterFor } from '../poster.js';
import { documentClient, relayTable } from '../store/client.js';
import { type ConnectionItem, queryConnectionsOfType } from '../store/connections.js';
import { directInvocation } from '../wrappers/direct-invocation.js';

documentClient(); // built during the init phase, reused by every invocation

/**
 * The direct-invocation event (the original demo's `sendMessage`): `{"message": ..., "type"?: "cli"|"mpc",
 * "operationType"?: "...", "team"?: "...", "apigw_endpoint"?: "https://..."}`; `action` is ignored.
 */
export interface BroadcastEvent {
  message?: unknown;
  type?: PeerType;
  /**
   * Only connections whose stored teams (the connection item's `teams`, from the token's `teams`
   * claim through the authorizer context) include this one; connections without teams are skipped.
   */
  team?: string;
  operationType?: string;
  /**
   * The original demo's field. Accepted only when it names the configured management endpoint
   * (MANAGEMENT_ENDPOINT): anything else is refused and nothing is sent. An endpoint taken from
   * the payload would let whoever may invoke the function send every connection id, signed with
   * the function's role, to a server of their choosing.
   */
  apigw_endpoint?: string;
  action?: string;
}

export interface BroadcastResult {
  /** Connections the message was posted to. */
  sent: number;
  /** Stale connections met (410) and removed. */
  stale: number;
  /** Posts that failed otherwise (logged). */
  failed: number;
  /** Set when the event was refused (nothing sent). */
  error?: string;
}

const BATCH = 25;
export const BROADCAST_FROM = 'relay';
export const BROADCAST_OPERATION_TYPE = 'broadcast';

/**
 * Posts `{"operationType", "from": "relay", "message"}` to every live connection (or every
 * connection of one type), removing the stale ones it meets. Connections come from a Query on the
 * sparse `byType` GSI, not a Scan: a Scan would read (and bill) every mapping and waiting message
 * of the table, while the index holds connection items only, partitioned by type.
 */
export const handler = directInvocation(
  {
    name: 'broadcast',
    failureMessage: 'broadcast failed',
    failureResult: (): BroadcastResult => ({
      sent: 0,
      stale: 0,
      failed: 0,
      error: 'internal error (see logs)',
    }),
  },
  async (event: BroadcastEvent): Promise<BroadcastResult> => {
    const refusal = validate(event);
    if (refusal) {
      logger.warn('broadcast refused', { outcome: 'refused', reason: refusal });
      return { sent: 0, stale: 0, failed: 0, error: refusal };
    }
    const config = loadConfig();
    const endpoint = managementEndpoint(config.managementEndpoint);
    if (!endpoint) {
      const error = 'no management endpoint: set MANAGEMENT_ENDPOINT';
      logger.error('broadcast refused', { outcome: 'refused', reason: error });
      return { sent: 0, stale: 0, failed: 0, error };
    }
    if (
      event.apigw_endpoint !== undefined &&
      normalizedEndpoint(event.apigw_endpoint) !== normalizedEndpoint(endpoint)
    ) {
      const error = `"apigw_endpoint" ${JSON.stringify(event.apigw_endpoint)} is not this relay's management endpoint ${endpoint}: broadcast posts only to the configured endpoint (omit the field, or pass that one); nothing was sent`;
      logger.warn('broadcast refused', {
        outcome: 'refused',
        reason: 'foreign apigw_endpoint',
        apigwEndpoint: event.apigw_endpoint.slice(0, 256),
        configuredEndpoint: endpoint,
      });
      return { sent: 0, stale: 0, failed: 0, error };
    }
    const table = relayTable(config);
    const poster = posterFor(endpoint);
    const types: PeerType[] = event.type ? [event.type] : ['cli', 'mpc'];
    const connections: ConnectionItem[] = [];
    for (const type of types) {
      const ofType = await queryConnectionsOfType(table, type);
      connections.push(...(event.team === undefined ? ofType : ofType.filter(servesTeam(event.team))));
    }
    const frame = encodeCliDelivery({
      operationType: event.operationType ?? BROADCAST_OPERATION_TYPE,
      from: BROADCAST_FROM,
      message: event.message,
    });
    const result: BroadcastResult = { sent: 0, stale: 0, failed: 0 };
    for (let start = 0; start < connections.length; start += BATCH) {
      const batch = await postToConnections(table, poster, connections.slice(start, start + BATCH), frame);
      result.sent += batch.delivered;
      result.stale += batch.stale;
      result.failed += batch.failed;
    }
    count('BroadcastSent', result.sent);
    logger.info('broadcast done', {
      outcome: 'broadcast',
      peerTypes: types.join(','),
      ...(event.team !== undefined ? { team: event.team } : {}),
      connections: connections.length,
      ...digest(frame),
      ...result,
    });
    return result;
  },
);

function validate(event: BroadcastEvent): string | undefined {
  if (!event || typeof event !== 'object') return 'the event must be an object {"message": ...}';
  if (event.message === undefined) return '"message" is required';
  if (event.type !== undefined && event.type !== 'cli' && event.type !== 'mpc')
    return '"type" must be "cli" or "mpc"';
  if (event.operationType !== undefined && !OperationTypeSchema.safeParse(event.operationType).success) {
    return '"operationType" must be 1-64 letters, digits, "_", "-", "." or ":"';
  }
  if (event.team !== undefined && (typeof event.team !== 'string' || !/^[^,\s]{1,128}$/.test(event.team))) {
    return '"team" must be a team name (1-128 characters, no comma or space)';
  }
  if (event.apigw_endpoint !== undefined && !/^https?:\/\//.test(event.apigw_endpoint)) {
    return '"apigw_endpoint" must be an http(s) URL';
  }
  return undefined;
}

/** An endpoint compared by scheme, host (lower case, default port dropped) and path without trailing slashes. */
function normalizedEndpoint(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname.replace(/\/+$/, '')}`;
  } catch {
    return `invalid:${url}`;
  }
}

/** A connection's stored teams are a comma string (absent when the peer named none). */
function servesTeam(team: string): (connection: ConnectionItem) => boolean {
  return (connection) =>
    typeof connection.teams === 'string' && connection.teams.split(',').some((t) => t.trim() === team);
}
