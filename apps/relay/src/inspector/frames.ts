import { conversationKey } from '@mpc-relay/protocol';

/**
 * Routing fields of the frames the relay sees, for the log and the inspector. Payloads (`message`)
 * are never kept: only ids, operation types, codes and statuses.
 */

const text = (value: unknown, max = 128): string | undefined =>
  typeof value === 'string' && value.length > 0 ? value.slice(0, max) : undefined;

function parseObject(body: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(body);
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** What a client sent: its action and routing fields. */
export interface ClientFrameSummary {
  action?: string;
  operationType?: string;
  sourceId?: string;
  /** From an mpc: the cli named by `cliToMpc`. */
  targetCli?: string;
  clientMsgId?: string;
  /** The conversation a reply is routed by (`sessionId`, else the original types' transactionId / txId). */
  conversation?: string;
  /** v2 marker (`"v":2`) on getConnectionId / ping. */
  v2?: boolean;
}

export function summarizeClientFrame(body: string): ClientFrameSummary {
  const frame = parseObject(body);
  if (!frame) return {};
  const summary: ClientFrameSummary = {};
  const set = <K extends keyof ClientFrameSummary>(key: K, value: ClientFrameSummary[K] | undefined) => {
    if (value !== undefined) summary[key] = value;
  };
  set('action', text(frame.action, 64));
  set('operationType', text(frame.operationType, 64));
  set('sourceId', text(frame.sourceId));
  set('clientMsgId', text(frame.clientMsgId));
  if (frame.cliToMpc && typeof frame.cliToMpc === 'object' && !Array.isArray(frame.cliToMpc)) {
    const keys = Object.keys(frame.cliToMpc);
    if (keys.length === 1) set('targetCli', text(keys[0]));
  }
  if (summary.operationType) {
    const sessionId = text(frame.sessionId);
    const key = conversationKey({
      operationType: summary.operationType,
      message: frame.message,
      ...(sessionId ? { sessionId } : {}),
    });
    set('conversation', text(key?.key));
  }
  if (frame.v === 2) summary.v2 = true;
  return summary;
}

/** What the relay sent a client (a delivery, an error, an ack, an answer). */
export type RelayFrameSummary =
  | {
      kind: 'delivery';
      operationType: string;
      from: string;
      to?: string;
      messageId?: string;
      clientMsgId?: string;
    }
  | { kind: 'error'; code: string; action?: string; clientMsgId?: string }
  | { kind: 'ack'; status: string; clientMsgId?: string; messageId?: string }
  | { kind: 'connectionId' }
  | { kind: 'pong' }
  /** API Gateway's own frames (`{"message": "Forbidden", ...}`). */
  | { kind: 'gateway'; message: string }
  | { kind: 'other' };

export function summarizeRelayFrame(body: string): RelayFrameSummary {
  const frame = parseObject(body);
  if (!frame) return { kind: 'other' };
  const error = frame.error;
  if (error && typeof error === 'object') {
    const e = error as Record<string, unknown>;
    return {
      kind: 'error',
      code: text(e.code, 64) ?? 'UNKNOWN',
      ...(text(e.action, 64) ? { action: text(e.action, 64) } : {}),
      ...(text(e.clientMsgId) ? { clientMsgId: text(e.clientMsgId) } : {}),
    };
  }
  const ack = frame.ack;
  if (ack && typeof ack === 'object') {
    const a = ack as Record<string, unknown>;
    return {
      kind: 'ack',
      status: text(a.status, 32) ?? 'unknown',
      ...(text(a.clientMsgId) ? { clientMsgId: text(a.clientMsgId) } : {}),
      ...(text(a.messageId) ? { messageId: text(a.messageId) } : {}),
    };
  }
  const operationType = text(frame.operationType, 64);
  const from = text(frame.from);
  if (operationType && from) {
    return {
      kind: 'delivery',
      operationType,
      from,
      ...(text(frame.to) ? { to: text(frame.to) } : {}),
      ...(text(frame.messageId) ? { messageId: text(frame.messageId) } : {}),
      ...(text(frame.clientMsgId) ? { clientMsgId: text(frame.clientMsgId) } : {}),
    };
  }
  if (typeof frame.connectionId === 'string' && !('message' in frame)) return { kind: 'connectionId' };
  if (typeof frame.pong === 'number') return { kind: 'pong' };
  if (typeof frame.message === 'string' && typeof frame.requestId === 'string')
    return { kind: 'gateway', message: frame.message.slice(0, 64) };
  return { kind: 'other' };
}

/** Error codes that mean the relay failed, not that the sender was refused. */
export const RELAY_FAILURE_CODES: ReadonlySet<string> = new Set(['INTERNAL', 'THROTTLED']);
