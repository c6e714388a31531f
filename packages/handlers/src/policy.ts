import { ErrorCode, type ErrorFrameInput, type PeerIdentity } from '@mpc-relay/protocol';
import { parsePeerList, parseTeams } from './comma-lists.js';
import type { RelayConfig } from './config.js';
import type { DrainPolicy } from './delivery/types.js';
import type { ConnectionItem } from './store/connections.js';

/**
 * Who may send what to whom, beyond routing (which `sendServer` does):
 * - ALLOWED_OPERATION_TYPES: the operation types this relay carries (default: any).
 * - TENANT_ISOLATION=on: a message flows only between peers that share a team (teams come from the
 *   token's `teams` claim, through the authorizer context; a receiver's teams are stored on its
 *   connection items at `$connect` and on nothing else). A message whose `message` is an object with
 *   a string `teamId` (the original demo's PartialSig / FullSig) must name one of the sender's teams, and
 *   only a receiver serving that very team gets it. A peer without teams talks to nobody.
 * - the token's `peers` claim (jwt mode): a peer whose token lists its counterparts exchanges
 *   messages with those only, in both directions: the sender's list must name the receiver (checked
 *   before any request when the receiver is known, an mpc's cli), and the receiver's list (stored on
 *   its connection items and route items) must name the sender. Without the claim, no restriction.
 */
export function checkOperationType(config: RelayConfig, operationType: string): ErrorFrameInput | undefined {
  if (!config.allowedOperationTypes || config.allowedOperationTypes.has(operationType)) return undefined;
  return {
    code: ErrorCode.OperationNotAllowed,
    message: `operation type ${JSON.stringify(operationType)} is not allowed on this relay; allowed: ${[...config.allowedOperationTypes].join(', ')}`,
    issues: [{ path: 'operationType', message: 'not allowed' }],
  };
}

/** The original demo's `message.teamId`, when the message is an object carrying a string one. */
export function messageTeamId(message: unknown): string | undefined {
  if (message === null || typeof message !== 'object' || Array.isArray(message)) return undefined;
  const teamId = (message as Record<string, unknown>).teamId;
  return typeof teamId === 'string' ? teamId : undefined;
}

/**
 * Sender-side check, before any DynamoDB request: under isolation the sender must serve a team,
 * and the message's `teamId` (when it has one) must be one of them.
 */
export function checkSenderTeams(
  config: RelayConfig,
  senderTeams: readonly string[],
  message: unknown,
): ErrorFrameInput | undefined {
  if (!config.tenantIsolation) return undefined;
  if (senderTeams.length === 0) {
    return {
      code: ErrorCode.Forbidden,
      message: 'this relay isolates teams and your credentials name no team: nothing can be sent',
    };
  }
  const teamId = messageTeamId(message);
  if (teamId !== undefined && !senderTeams.includes(teamId)) {
    return {
      code: ErrorCode.Forbidden,
      message: `teamId ${JSON.stringify(teamId)} is not one of your teams`,
      issues: [{ path: 'message.teamId', message: 'not one of your teams' }],
    };
  }
  return undefined;
}

/**
 * May a message from a sender with `senderTeams` reach a receiver with `receiverTeams`? With a
 * `teamId` the receiver must serve that team (the sender was checked already); without, they must
 * share at least one team. Always true when isolation is off.
 */
export function mayReach(
  config: RelayConfig,
  senderTeams: readonly string[],
  receiverTeams: readonly string[],
  teamId: string | undefined,
): boolean {
  if (!config.tenantIsolation) return true;
  if (teamId !== undefined) return senderTeams.includes(teamId) && receiverTeams.includes(teamId);
  return senderTeams.some((team) => receiverTeams.includes(team));
}

/**
 * The refusal when the target is connected but none of its connections may receive the message:
 * none serves its team (tenant isolation) or every one's token `peers` leaves the sender out.
 */
export function crossTeamRefusal(teamId: string | undefined, tenantIsolation = true): ErrorFrameInput {
  if (!tenantIsolation) {
    return { code: ErrorCode.Forbidden, message: "the target's token does not list you among its peers" };
  }
  return {
    code: ErrorCode.Forbidden,
    message:
      teamId !== undefined
        ? `the target does not serve team ${JSON.stringify(teamId)} (or its token does not list you among its peers): this relay isolates teams`
        : 'the target shares no team with you (or its token does not list you among its peers): this relay isolates teams',
  };
}

/**
 * The `peers` claim of one side (`list`, undefined when its token has none) against the other side:
 * FORBIDDEN when the list does not name it.
 */
export function checkPeers(
  list: readonly string[] | undefined,
  counterpart: PeerIdentity,
  whose: 'your token' | "the mpc's token" | "the cli's token",
): ErrorFrameInput | undefined {
  if (list === undefined || list.includes(counterpart.id)) return undefined;
  return {
    code: ErrorCode.Forbidden,
    message: `${whose} does not list ${counterpart.type} ${JSON.stringify(counterpart.id)} among its peers`,
  };
}

/** Whether a receiver whose `peers` (comma string, absent: no claim) may get a message from `senderId`. */
export function peersAllow(peers: string | undefined, senderId: string): boolean {
  return peers === undefined || parsePeerList(peers).includes(senderId);
}

/** A sender's side of tenant isolation and pairing for one message. */
export interface SenderTenancy {
  /**
   * The message's `teamId` under isolation, or the team of the conversation it answers (always
   * undefined when isolation is off).
   */
  teamId: string | undefined;
  /**
   * The target's connections this message may reach: those serving its team (isolation) whose
   * token `peers`, if any, name the sender.
   */
  reachable<T extends Pick<ConnectionItem, 'teams' | 'peers'>>(connections: T[]): T[];
}

export function senderTenancy(
  config: RelayConfig,
  sender: PeerIdentity,
  senderTeams: readonly string[],
  message: unknown,
  conversationTeamId?: string,
): SenderTenancy {
  const teamId = config.tenantIsolation ? (messageTeamId(message) ?? conversationTeamId) : undefined;
  return {
    teamId,
    reachable: (connections) =>
      connections.filter(
        (connection) =>
          peersAllow(connection.peers, sender.id) &&
          mayReach(config, senderTeams, parseTeams(connection.teams), teamId),
      ),
  };
}

/**
 * Tenant isolation and pairing when stored messages reach a connection whose teams are
 * `receiverTeams` and whose token `peers` are `receiverPeers`.
 */
export function drainPolicy(
  config: RelayConfig,
  receiverTeams: readonly string[],
  receiverPeers?: readonly string[],
): DrainPolicy {
  return {
    mayReceive: (item) =>
      (receiverPeers === undefined || receiverPeers.includes(item.from)) &&
      mayReach(config, parseTeams(item.teams), receiverTeams, item.teamId),
    mappingTtlSeconds: config.mappingTtlSeconds,
  };
}

/** Every policy check of a send, before any DynamoDB request: operation type, then the sender's teams. */
export function checkSendPolicy(
  config: RelayConfig,
  operationType: string,
  senderTeams: readonly string[],
  message: unknown,
): ErrorFrameInput | undefined {
  return checkOperationType(config, operationType) ?? checkSenderTeams(config, senderTeams, message);
}
