import { PROTOCOL_V2 } from '@mpc-relay/protocol';
import { prefetchJwtKeys } from '../auth/jwt.js';
import { authModeFor } from '../auth/modes.js';
import { parseAuthMode } from '../config.js';
import { offeredProtocols } from '../events.js';
import { logger } from '../logger.js';
import { type AuthorizerVerdict, authorizerConnectionId, requestAuthorizer } from '../wrappers/authorizer.js';

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
 * so the context is computed for each handshake.) An unexpected failure denies (`requestAuthorizer`).
 */
export const handler = requestAuthorizer(async (event): Promise<AuthorizerVerdict> => {
  const authMode = authModeFor(parseAuthMode());
  const mode = authMode.name;
  const decision = await authMode.authorize({
    headers: { ...(event?.headers ?? {}) },
    query: { ...(event?.queryStringParameters ?? {}) },
    connectionId: authorizerConnectionId(event),
  });
  // Reasons and fields for the log only (never the token); the client sees a bare 401 / 403.
  const extra = decision.log ?? {};
  if (decision.effect === 'unauthorized') {
    logger.info('connect unauthorized', {
      outcome: 'unauthorized',
      authMode: mode,
      reason: decision.reason,
      ...extra,
    });
    return { effect: 'unauthorized' };
  }
  if (decision.effect === 'deny') {
    const fields = { outcome: 'deny', authMode: mode, reason: decision.reason, ...extra };
    // The relay's own failures (configuration, key sources) need an operator; bad tokens do not.
    if (extra.serverSide === true) logger.error('connect denied', fields);
    else logger.info('connect denied', fields);
    return { effect: 'deny', reason: decision.reason };
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
  if (!peer) return { effect: 'allow', principalId: 'anonymous' };
  return {
    effect: 'allow',
    principalId: `${peer.type}:${peer.id}`,
    context: {
      peerType: peer.type,
      peerId: peer.id,
      protocol: offeredProtocols(event?.headers).includes(PROTOCOL_V2) ? PROTOCOL_V2 : 'v1',
      ...(decision.teams && decision.teams.length > 0 ? { teams: decision.teams.join(',') } : {}),
      ...(decision.peers !== undefined ? { peers: decision.peers.join(',') } : {}),
      // jwt: numbers; every message handler refuses frames once exp + expSkew has passed.
      ...(decision.tokenExpiry
        ? { exp: decision.tokenExpiry.exp, expSkew: decision.tokenExpiry.skewSeconds }
        : {}),
    },
  };
});
