export * from './allow-list.js';
export type { SignatureFields, SigningBackend, SigningRequest, SigningResult } from './backend.js';
export { type BackoffOptions, backoffCeiling, backoffDelay, DEFAULT_BACKOFF } from './backoff.js';
export * from './client.js';
export * from './cosigner.js';
export * from './digest.js';
export * from './errors.js';
export type * from './events.js';
export * from './fragments.js';
export { DEFAULT_KEEPALIVE, type KeepaliveOptions } from './keepalive.js';
export * from './keys.js';
export * from './musig2/core.js';
export * from './musig2/keystore.js';
export * from './musig2/protocols.js';
export {
  DEFAULT_MAX_CONNECTION_AGE_MS,
  DEFAULT_RECONNECT,
  DEFAULT_TOKEN,
  type ProtocolChoice,
  parseProtocolChoice,
  type ReconnectOptions,
  type RelayClientOptions,
} from './options.js';
export { Outbox, type OutboxEntry, type OutboxOptions, type SendResult } from './outbox.js';
export * from './seal.js';
export type { SendRequest } from './send-frame.js';
export * from './sessions/manager.js';
export * from './sessions/single-key-protocol.js';
export * from './sessions/types.js';
export * from './single-key.js';
export { buildConnectUrl, redactUrl, type TokenPlacement } from './url.js';
