export { normalizeArgv, parseCli } from './cli.js';
export { type DevWatch, type DevWatchOptions, watchHandlers } from './dev-watch.js';
export { UserError } from './errors.js';
export {
  type MessageObservation,
  type ObservationEvents,
  type Outcome,
  observeRelay,
  type RelayObservations,
} from './inspector/observe.js';
export { attachLogger } from './log.js';
export { DEFAULTS, type Relay, type RelayOptions, startRelay } from './relay.js';
