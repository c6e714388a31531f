/**
 * `@mpc-relay/infra`: the relay as a Pulumi component for other programs. Importing this module
 * declares nothing; `new RelayComponent(name, args)` does. The stack program of this repository is
 * `./program.js`.
 */
export {
  type AlarmThresholds,
  type ApiGatewayCloudWatchRole,
  type Architecture,
  type AuthMode,
  DEFAULT_ALARM_THRESHOLDS,
  type JwtArgs,
  type LogLevel,
  RELAY_DEFAULTS,
  type RelayArgs,
  RelayArgsError,
  type ResolvedRelayArgs,
  resolveRelayArgs,
} from './args.js';
export { assertBundles, BUNDLE_DIR_ENV, bundleDirectory } from './bundles.js';
export {
  CONFIG_KEYS,
  CONFIG_NAMESPACE,
  type ConfigSource,
  loadRelayConfig,
  parseRelayConfig,
  type RelayConfig,
  RelayConfigError,
  toRelayArgs,
} from './config.js';
export { MAX_STACK_NAME_LENGTH, NAME_LIMITS, physicalName, relayNames } from './names.js';
export { type ApiGatewayAccount, RelayComponent } from './relay.js';
