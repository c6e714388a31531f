import { ErrorCode, type ErrorFrameInput } from '@mpc-relay/protocol';
import type { RelayConfig } from './config.js';
import type { DrainPolicy } from './delivery.js';
import type { ConnectionItem } from './store/connections.js';

/**
 * Who may send what to whom, beyond routing (which `sendServer` does):
 * - ALLOWED_OPERATION_TYPES: the operation types this relay carries (default: any).
 * - TENANT_ISOLATION=on: a message flows only between peers that share a team (teams come from the
 *   token's `teams` claim, through the authorizer context; a receiver's teams are stored on its
 *   connection items at `$connect` and on nothing else). A message whose `message` is an object with
 *   a string `teamId` (the original demo's PartialSig / FullSig) must name one of the sender's teams, and
 *   only a receiver serving that very team gets it. A peer without teams talks to nobody.
 */
export function checkOperationType(config: RelayConfig, operationType: string): ErrorFrameInput | undefined {
  if (!config.allowedOperationTypes || config.allowedOperationTypes.has(operationType)) return undefined;
  return {
    code: ErrorCode.OperationNotAllowed,
    message: `operation type ${JSON.stringify(operationType)} is not allowed on this relay; allowed: ${[...config.allowedOperationTypes].join(', ')}`,
    issues: [{ path: 'operationType', message: 'not allowed' }],
  };
}

/** Team ids from a comma string (authorizer context, connection and inbox items). */
export function parseTeams(value: unknown): string[] {
  if (typeof value !== 'string' || value === '') return [];
  return value
    .split(',')
    .map((team) => team.trim())
    .filter((team) => team !== '');
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

/** The refusal when the target is connected but none of its connections may receive the message. */
export function crossTeamRefusal(teamId: string | undefined): ErrorFrameInput {
  return {
    code: ErrorCode.Forbidden,
    message:
      teamId !== undefined
        ? `the target does not serve team ${JSON.stringify(teamId)}: this relay isolates teams`
        : 'the target shares no team with you: this relay isolates teams',
  };
}

/** A sender's side of tenant isolation for one message. */
export interface SenderTenancy {
  /** The message's `teamId` under isolation (always undefined when isolation is off). */
  teamId: string | undefined;
  /** The target's connections this message may reach (all of them when isolation is off). */
  reachable(connections: ConnectionItem[]): ConnectionItem[];
}

export function senderTenancy(
  config: RelayConfig,
  senderTeams: readonly string[],
  message: unknown,
): SenderTenancy {
  const teamId = config.tenantIsolation ? messageTeamId(message) : undefined;
  return {
    teamId,
    reachable: (connections) =>
      connections.filter((connection) => mayReach(config, senderTeams, parseTeams(connection.teams), teamId)),
  };
}

/** Tenant isolation when stored messages reach a connection whose teams are `receiverTeams`. */
export function drainPolicy(config: RelayConfig, receiverTeams: readonly string[]): DrainPolicy {
  return {
    mayReceive: (item) => mayReach(config, parseTeams(item.teams), receiverTeams, item.teamId),
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
