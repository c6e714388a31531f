import { PROTOCOL_V2 } from '@mpc-relay/protocol';
import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent, Context } from 'aws-lambda';
import { prefetchJwtKeys } from '../auth/jwt.js';
import { authModeFor } from '../auth/modes.js';
import { parseAuthMode } from '../config.js';
import { offeredProtocols } from '../events.js';
import { describeError, logger } from '../logger.js';

// jwt mode with an HS* secret in SSM: start reading it during the init phase (cold start).
prefetchJwtKeys();

/**
 * REQUEST authorizer on `$connect`. Allow: an Allow policy whose context carries
 * `{peerType, peerId, protocol, teams?, peers?, exp?, expSkew?}` to every event of the connection:
 * `protocol` the one `$connect` negotiates (`mpc-relay.v2` when offered, else `v1`), so a send can
 * record its sender's connection without a read; jwt mode: `teams` and `peers` comma strings (the
 * token's claims), `exp` the token's expiry in epoch seconds and `expSkew` the clock-skew
 * tolerance, numbers. Deny: a Deny policy
 * (API Gateway answers 403). Missing credentials: throws `Unauthorized` (API Gateway answers 401).
 *
 * A bad connect query (`type`, `cliId`/`mpcId`) is NOT denied here: an authorizer can only say
 * 401/403/500, and a malformed URL deserves a clear 400, which only `$connect` can answer. So an
 * authenticated request with a bad query is allowed without a peer in the context, and `$connect`
 * refuses it with 400 and nothing stored. (API Gateway WebSocket authorizers do not cache results,
 * so the context is computed for each handshake.)
 */
export async function handler(
  event: APIGatewayRequestAuthorizerEvent,
  context?: Context,
): Promise<APIGatewayAuthorizerResult> {
  logger.resetKeys();
  if (context && typeof context === 'object' && 'awsRequestId' in context) logger.addContext(context);
  const connectionId = (event?.requestContext as { connectionId?: string } | undefined)?.connectionId;
  logger.appendKeys({ connectionId, routeKey: '$connect', handler: 'authorizer' });
  let decision: Awaited<ReturnType<ReturnType<typeof authModeFor>['authorize']>>;
  let mode = 'unknown';
  try {
    const authMode = authModeFor(parseAuthMode());
    mode = authMode.name;
    decision = await authMode.authorize({
      headers: { ...(event?.headers ?? {}) },
      query: { ...(event?.queryStringParameters ?? {}) },
      connectionId,
    });
  } catch (error) {
    // Fail closed: a broken configuration or mode denies rather than answers 500.
    logger.error('authorizer failed', { outcome: 'deny', ...describeError(error) });
    decision = { effect: 'deny', reason: 'authorizer failure' };
  }
  const resource = event?.methodArn ?? '*';
  // Reasons and fields for the log only (never the token); the client sees a bare 401 / 403.
  const extra = decision.log ?? {};
  if (decision.effect === 'unauthorized') {
    logger.info('connect unauthorized', {
      outcome: 'unauthorized',
      authMode: mode,
      reason: decision.reason,
      ...extra,
    });
    throw new Error('Unauthorized');
  }
  if (decision.effect === 'deny') {
    const fields = { outcome: 'deny', authMode: mode, reason: decision.reason, ...extra };
    // The relay's own failures (configuration, key sources) need an operator; bad tokens do not.
    if (extra.serverSide === true) logger.error('connect denied', fields);
    else logger.info('connect denied', fields);
    // The reason (never the token) reaches API Gateway's logs and the local relay's; not the client.
    return { ...policy('denied', 'Deny', resource), context: { reason: decision.reason } };
  }
  const peer = decision.peer;
  logger.info('connect allowed', {
    outcome: 'allow',
    authMode: mode,
    ...(peer ? { peerType: peer.type, peerId: peer.id } : {}),
    ...(decision.reason ? { reason: decision.reason } : {}),
    ...(decision.teams && decision.teams.length > 0 ? { teams: decision.teams.join(',') } : {}),
    ...(decision.peers !== undefined ? { peers: decision.peers.join(',') } : {}),
    ...extra,
  });
  const result = policy(peer ? `${peer.type}:${peer.id}` : 'anonymous', 'Allow', resource);
  if (peer) {
    result.context = {
      peerType: peer.type,
      peerId: peer.id,
      protocol: offeredProtocols(event?.headers).includes(PROTOCOL_V2) ? PROTOCOL_V2 : 'v1',
      ...(decision.teams && decision.teams.length > 0 ? { teams: decision.teams.join(',') } : {}),
      ...(decision.peers !== undefined ? { peers: decision.peers.join(',') } : {}),
      // jwt: numbers; every message handler refuses frames once exp + expSkew has passed.
      ...(decision.tokenExpiry
        ? { exp: decision.tokenExpiry.exp, expSkew: decision.tokenExpiry.skewSeconds }
        : {}),
    };
  }
  return result;
}

function policy(principalId: string, effect: 'Allow' | 'Deny', resource: string): APIGatewayAuthorizerResult {
  return {
    principalId,
    policyDocument: {
      Version: '2012-10-17',
      Statement: [{ Action: 'execute-api:Invoke', Effect: effect, Resource: resource }],
    },
  };
}
