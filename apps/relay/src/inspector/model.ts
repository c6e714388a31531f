/**
 * What the inspector's feed sends the page (JSON over server-sent events). Metadata only: ids,
 * operation types, sizes, codes, times (epoch ms). Shared by the relay and the page's code.
 */

export type Outcome = 'delivered' | 'stored' | 'duplicate' | 'refused' | 'error' | 'ok';

export interface ConnectionRow {
  connectionId: string;
  /** `cli:ID` / `mpc:ID` when known. */
  peer?: string;
  protocol: 'v1' | 'v2';
  teams: string[];
  sourceIp: string;
  connectedAt: number;
  lastActiveAt: number;
}

export interface DisconnectRow {
  at: number;
  connectionId: string;
  peer?: string;
  code: number;
  reason: string;
  cause: string;
}

/** A conversation (or mapping) item of the relay table: which cli answers which mpc, until when. */
export interface ConversationRow {
  cli: string;
  mpc: string;
  /** The item's key in the table (`pk` / `sk`). */
  key: string;
  /** The conversation key (sessionId / transactionId) of a conversation item; none for the latest mapping. */
  conversation?: string;
  /** The conversation's team (tenant isolation). */
  teamId?: string;
  updatedAt?: number;
  expiresAt: number;
}

/** Messages kept for a peer that is offline (its inbox in the table). */
export interface WaitingRow {
  peer: string;
  count: number;
  bytes: number;
  oldestAt: number;
  /** When the next one expires. */
  nextExpiryAt: number;
  operationTypes: string[];
}

export interface TimelineRow {
  seq: number;
  at: number;
  from?: string;
  to?: string;
  /** The route (`sendServer`, `getConnectionId`, ...) or `broadcast` / `report` for the relay's own posts. */
  route: string;
  operationType?: string;
  bytes: number;
  protocol: 'v1' | 'v2';
  outcome: Outcome;
  code?: string;
  error?: string;
  latencyMs: number;
  conversation?: string;
  /** A stored message delivered when its receiver came back. */
  deliveredLaterAt?: number;
}

export interface CounterSet {
  /** Client frames handled. */
  frames: number;
  /** sendServer messages accepted (delivered, stored or duplicate). */
  relayed: number;
  dynamodb: number;
  posts: number;
  /** 410 Gone answers of the management API. */
  gone: number;
  refusals: number;
  errors: number;
  refusalsByCode: Record<string, number>;
}

export interface Counters {
  since: number;
  totals: CounterSet;
  /** The last 60 seconds. */
  lastMinute: CounterSet;
  /** Relayed messages and refusals per minute, oldest first (up to 30 minutes). */
  perMinute: { minute: number; relayed: number; refusals: number; errors: number }[];
}

export interface TableView {
  conversations: ConversationRow[];
  waiting: WaitingRow[];
  /** When the table was last read; undefined before the first read. */
  readAt?: number;
  /** More items than one read takes: the lists are partial. */
  truncated?: boolean;
  error?: string;
}

export interface StateView {
  relay: { url: string; stage: string; authMode: string; startedAt: number; now: number };
  connections: ConnectionRow[];
  /** All open connections (the list holds the most recently active ones, bounded). */
  connectionCount: number;
  disconnects: DisconnectRow[];
  counters: Counters;
  table: TableView;
}

/** Feed events: `state` (StateView, at most a few per second), `rows` (TimelineRow[], new or changed). */
export type FeedEvent = { event: 'state'; data: StateView } | { event: 'rows'; data: TimelineRow[] };

export const LIMITS = {
  /** Timeline rows kept by the relay and by the page. */
  timelineRows: 500,
  connectionRows: 500,
  disconnectRows: 50,
  conversationRows: 500,
  waitingRows: 500,
} as const;
