export { authModeFor, registerAuthMode, staticAuthMode } from './auth/modes.js';
export type { AuthDecision, AuthMode, AuthRequest } from './auth/types.js';
export { type AuthModeName, ConfigError, loadConfig, type RelayConfig } from './config.js';
export type {
  AuthorizerContext,
  WebSocketEvent,
  WebSocketRequestContext,
  WebSocketResult,
} from './events.js';
export type { BroadcastEvent, BroadcastResult } from './handlers/broadcast.js';
export * from './routes.js';
export type { ConnectionItem } from './store/connections.js';
export type { MappingItem, RecordedConnection, RouteItem } from './store/conversations.js';
export type { InboxItem } from './store/inbox.js';
export { GSI_BY_TYPE, inboxSortKey, KEY, TTL_ATTRIBUTE } from './store/keys.js';
export {
  attachRequestCounter,
  countRequests,
  dynamoRequestCounter,
  type RequestCounter,
  resetRequestCounter,
  snapshotRequestCounter,
} from './store/request-counter.js';
export { type CreateRelayTableResult, createRelayTable, TABLE_SCHEMA } from './store/table.js';
