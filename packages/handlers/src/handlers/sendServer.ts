import { checkSendPolicy, senderTenancy } from '../policy.js';
import { relayContext } from '../relay-context.js';
import { refuseSend } from '../send/checked.js';
import { runLookups } from '../send/lookups.js';
import { relayAndAnswer } from '../send/relay.js';
import { readSendRequest } from '../send/request.js';
import { resolveRoute } from '../send/route.js';
import { documentClient } from '../store/client.js';
import { messageRoute } from '../wrappers/message-route.js';

documentClient(); // built during the init phase, reused by every invocation

/**
 * `sendServer` (two-way): the original demo's routing.
 * - From an mpc: `cliToMpc: {CLI_ID: MPC_ID}` (MPC_ID must be the sender) names the cli; remember
 *   that the cli answers to this mpc (MAPPING_TTL_SECONDS) and deliver `{operationType, from, message}`.
 *   DynamoDB: PutItem mapping + Query the cli's connections, in parallel (2 requests).
 * - From a cli (no `cliToMpc`): look up its mpc and deliver `{operationType, from, to, message}`.
 *   DynamoDB: GetItem mapping, then Query the mpc's connections (2 requests).
 * `from` is the authenticated peer, never the body. Delivered to every live connection of the
 * target; kept in its inbox (+1 PutItem) when none takes it. Success answers nothing (as the original demo);
 * every refusal answers an error frame and the connection stays open.
 *
 * Protocol v2 sender (`clientMsgId`): + 1 conditional PutItem of the message (durable and
 * deduplicated), in parallel with the lookups: 3 requests. No redelivery check of the sender's own
 * inbox here (v2 ping and getConnectionId do that).
 *
 * TENANT_ISOLATION=on (teams from the token, see policy.ts): the sender's teams and the message's
 * `teamId` are checked first (FORBIDDEN, 0 requests); the target's connections carry their teams, so
 * only those that may receive the message get it, and FORBIDDEN when the target is connected but
 * none may. mpc -> cli then runs the Query BEFORE the mapping PutItem (still 2 requests, sequential):
 * a foreign team's mpc must not take over a cli's mapping. An offline target's inbox item carries
 * the sender's teams (and, mpc -> cli, the mapping to write) and is checked when delivered.
 *
 * Steps (`src/send/`): read the frame and its sender (request.ts), the policy checks (policy.ts),
 * the route per sender type (route.ts), the DynamoDB lookups (lookups.ts), then relay, log and
 * answer (relay.ts).
 */
export const handler = messageRoute(async (event) => {
  const read = readSendRequest(event);
  if (!read.ok) return read.refusal;
  const request = read.value;
  const { frame, senderTeams } = request;
  const { config, table, poster } = relayContext(event);
  const policyRefusal = checkSendPolicy(config, frame.operationType, senderTeams, frame.message);
  if (policyRefusal) return refuseSend(policyRefusal, frame.clientMsgId);

  const route = await resolveRoute(table, config, request);
  if (!route.ok) return route.refusal;
  const tenancy = senderTenancy(
    config,
    request.sender,
    senderTeams,
    frame.message,
    route.value.followed?.teamId,
  );
  const send = { request, route: route.value, tenancy, config, table };
  const lookups = await runLookups(send);
  if (!lookups.ok) return lookups.refusal;
  return relayAndAnswer(send, poster, lookups.value);
});
