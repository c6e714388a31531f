export { normalizeArgv, parseCli } from './cli.js';
export {
  CREDENTIALS_FILE,
  CREDENTIALS_PROFILE,
  loadOrCreateCredentials,
  type RelayCredentials,
} from './credentials.js';
export { type DevWatch, type DevWatchOptions, watchHandlers } from './dev-watch.js';
export { type DynamoFront, type DynamoFrontOptions, startDynamoFront } from './dynamo-front.js';
export { UserError } from './errors.js';
export {
  type MessageObservation,
  type ObservationEvents,
  type Outcome,
  observeRelay,
  type RelayObservations,
} from './inspector/observe.js';
export { attachLogger } from './log.js';
export { DEFAULTS, isLoopback, type Relay, type RelayOptions, startRelay } from './relay.js';
export type { StoreStats } from './store/messages.js';
export type { LocalStore } from './store.js';
