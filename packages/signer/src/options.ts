/** RelayClient's options and their defaults. */
import type { PeerIdentity } from '@mpc-relay/protocol';
import { type BackoffOptions, DEFAULT_BACKOFF } from './backoff.js';
import type { FragmentOptions } from './fragments.js';
import { DEFAULT_KEEPALIVE, type KeepaliveOptions } from './keepalive.js';
import type { TokenPlacement } from './url.js';

/** The original demo's static authorizer accepts the token `Allow`. */
export const DEFAULT_TOKEN = 'Allow';

/** API Gateway closes a connection after 2 hours; the client reconnects a little before. */
export const DEFAULT_MAX_CONNECTION_AGE_MS = 115 * 60_000;

/**
 * `v2` (the default): offer the `mpc-relay.v2` subprotocol; when the relay echoes it, sends carry a
 * `clientMsgId` and settle on the relay's ack result (resent after a reconnect until then,
 * duplicates suppressed by the relay), deliveries are acknowledged and deduplicated by `messageId`.
 * When the handshake does not echo it (an older relay), the client reconnects at once without
 * offering it and speaks protocol v1. `v1`: protocol v1 only.
 */
export type ProtocolChoice = 'v2' | 'v1';

/**
 * Parses a command-line protocol name. `seed` (the name v1 had before it was called v1) still works
 * and calls `onDeprecated` with a line saying so; anything else throws naming the choices.
 */
export function parseProtocolChoice(value: string, onDeprecated?: (line: string) => void): ProtocolChoice {
  if (value === 'v1' || value === 'v2') return value;
  if (value === 'seed') {
    onDeprecated?.("--protocol seed is deprecated: it is called 'v1' now");
    return 'v1';
  }
  throw new Error(`unknown protocol ${JSON.stringify(value)}; expected v2 or v1`);
}

export interface ReconnectOptions extends BackoffOptions {
  /** Reconnect on its own after a connection is lost. Default true. */
  enabled: boolean;
  /**
   * Most consecutive failed attempts (connections that failed, or lived shorter than
   * `stableAfterMs`) before giving up with RelayUnreachableError. Default Infinity.
   */
  maxAttempts: number;
  /** Retry when the very first connection attempt fails. Default true; the command sets false. */
  retryInitialConnect: boolean;
  /** A connection that lived at least this long resets the failure count. Default 5 s. */
  stableAfterMs: number;
}

export const DEFAULT_RECONNECT: ReconnectOptions = {
  ...DEFAULT_BACKOFF,
  enabled: true,
  maxAttempts: Number.POSITIVE_INFINITY,
  retryInitialConnect: true,
  stableAfterMs: 5_000,
};

export interface RelayClientOptions {
  /** The relay's base URL: `ws://HOST:PORT/STAGE` or `wss://API.execute-api.REGION.amazonaws.com/STAGE`. */
  url: string;
  /** Who this client is: `{type: 'cli', id}` or `{type: 'mpc', id}`. */
  peer: PeerIdentity;
  /** The token; default `Allow` (the original demo's static authorizer). */
  token?: string;
  /** `header` (Authorization, default), `query` (`?token=`, where headers are impossible) or `both`. */
  tokenIn?: TokenPlacement;
  reconnect?: Partial<ReconnectOptions>;
  keepalive?: Partial<KeepaliveOptions>;
  /** Reconnect proactively once a connection is this old (API Gateway's limit is 2 h). Default 115 min. */
  maxConnectionAgeMs?: number;
  /** Most frames kept in the outbox while disconnected. Default 1,000. */
  maxOutboxEntries?: number;
  /** Handshake timeout per attempt. Default 10 s. */
  handshakeTimeoutMs?: number;
  /** Source of randomness for the jitter (tests). */
  random?: () => number;
  /** `v2` (acknowledged delivery, default; falls back to v1 on a relay without it) or `v1`. */
  protocol?: ProtocolChoice;
  /** v2: how many recent delivery message ids are remembered to drop duplicates. Default 10,000. */
  dedupeCacheSize?: number;
  /**
   * v2: a `{"action":"ping","v":2}` goes out this often (sends do not postpone it), which makes the
   * relay resend unacknowledged messages (its REDELIVERY_DELAY_SECONDS applies). Default 60 s.
   */
  redeliveryCheckMs?: number;
  /**
   * Messages whose frame would exceed 32 KB are sent as fragments (v2 only) and reassembled on
   * receipt: `maxMessageBytes` (default 1 MiB, both ways), `timeoutMs` for an incomplete set
   * (default 60 s), `compress` (brotli before splitting, default false).
   */
  fragments?: FragmentOptions;
}

/** The options with every default applied (what the client's parts are built from). */
export interface ResolvedOptions {
  token: string;
  tokenIn: TokenPlacement;
  reconnect: ReconnectOptions;
  keepalive: KeepaliveOptions;
  maxConnectionAgeMs: number;
  maxOutboxEntries: number;
  handshakeTimeoutMs: number;
  random: () => number;
  protocol: ProtocolChoice;
  dedupeCacheSize: number;
  redeliveryCheckMs: number;
  fragments: FragmentOptions;
}

export function resolveOptions(options: RelayClientOptions): ResolvedOptions {
  return {
    token: options.token ?? DEFAULT_TOKEN,
    tokenIn: options.tokenIn ?? 'header',
    reconnect: { ...DEFAULT_RECONNECT, ...options.reconnect },
    keepalive: { ...DEFAULT_KEEPALIVE, ...options.keepalive },
    maxConnectionAgeMs: options.maxConnectionAgeMs ?? DEFAULT_MAX_CONNECTION_AGE_MS,
    maxOutboxEntries: options.maxOutboxEntries ?? 1000,
    handshakeTimeoutMs: options.handshakeTimeoutMs ?? 10_000,
    random: options.random ?? Math.random,
    protocol: options.protocol ?? 'v2',
    dedupeCacheSize: options.dedupeCacheSize ?? 10_000,
    redeliveryCheckMs: options.redeliveryCheckMs ?? 60_000,
    fragments: { ...options.fragments },
  };
}
