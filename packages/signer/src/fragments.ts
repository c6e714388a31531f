/**
 * Messages larger than one API Gateway frame (32 KB), sent as fragments: each an ordinary
 * `sendServer` message of operation type `Fragment` (so the relay stores and forwards each one like
 * any other), tagged with the set's id, its index, the count, the whole's size and SHA-256. The
 * receiver reassembles a set in index order, checks size and digest, and hands the application the
 * original message. Memory is bounded: a total of buffered bytes (default 1 MiB), sets that do not
 * complete in time expire, a set whose fragments disagree or whose digest fails is refused.
 */
import { randomBytes } from 'node:crypto';
import { brotliCompressSync, brotliDecompressSync, constants } from 'node:zlib';
import {
  FRAGMENT_OPERATION,
  type FragmentMessage,
  FragmentMessageSchema,
  MAX_FRAME_BYTES,
  type PeerIdentity,
  utf8Length,
} from '@mpc-relay/protocol';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import type { Delivery } from './events.js';
import { buildSendServerFrame, type SendRequest } from './send-frame.js';

export const DEFAULT_MAX_MESSAGE_BYTES = 1024 * 1024;
export const DEFAULT_FRAGMENT_TIMEOUT_MS = 60_000;

export interface FragmentOptions {
  /** Largest whole message sent or reassembled, and most bytes buffered at once (default 1 MiB). */
  maxMessageBytes?: number;
  /** An incomplete set is dropped this long after its first fragment arrived (default 60 s). */
  timeoutMs?: number;
  /** Brotli-compress the whole before splitting when that makes it smaller (default false). */
  compress?: boolean;
}

/** The longest client message id the outbox may add to a frame, reserved when sizing fragments. */
const CLIENT_MSG_ID_RESERVE = '"clientMsgId":"'.length + 128 + 2;

/** Whether a request's frame is too large for one WebSocket frame. */
export function needsFragments(peer: PeerIdentity, request: SendRequest): boolean {
  const frame = { ...request, message: request.message };
  let size: number;
  try {
    size = utf8Length(
      JSON.stringify({
        action: 'sendServer',
        sourceId: peer.id,
        cliToMpc: { [request.cliId ?? '']: peer.id },
        ...frame,
      }),
    );
  } catch {
    return false; // buildSendServerFrame reports it
  }
  return size + CLIENT_MSG_ID_RESERVE > MAX_FRAME_BYTES;
}

function teamIdOf(message: unknown): string | undefined {
  if (message === null || typeof message !== 'object' || Array.isArray(message)) return undefined;
  const value = (message as Record<string, unknown>).teamId;
  return typeof value === 'string' ? value : undefined;
}

/** Splits a request into fragment requests whose frames each fit 32 KB (with a v2 clientMsgId). */
export function splitIntoFragments(
  peer: PeerIdentity,
  request: SendRequest,
  options: FragmentOptions = {},
): SendRequest[] {
  const maxBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  let whole: Uint8Array = Buffer.from(JSON.stringify(request.message), 'utf8');
  if (whole.length > maxBytes) {
    throw new RangeError(`message is ${whole.length} bytes; the limit is ${maxBytes} (maxMessageBytes)`);
  }
  let encoding: FragmentMessage['fragment']['encoding'] = 'identity';
  if (options.compress) {
    const packed = brotliCompressSync(whole, {
      params: { [constants.BROTLI_PARAM_QUALITY]: 5, [constants.BROTLI_PARAM_SIZE_HINT]: whole.length },
    });
    if (packed.length < whole.length) {
      whole = packed;
      encoding = 'br';
    }
  }
  const teamId = teamIdOf(request.message);
  const header = (index: number, count: number): FragmentMessage => ({
    fragment: {
      id: randomId,
      index,
      count,
      size: whole.length,
      sha256: digest,
      encoding,
      operationType: request.operationType,
      ...(originalBytes === whole.length ? {} : { originalSize: originalBytes }),
    },
    ...(teamId === undefined ? {} : { teamId }),
    data: '',
  });
  const originalBytes = utf8Length(JSON.stringify(request.message));
  const randomId = randomBytes(16).toString('hex');
  const digest = bytesToHex(sha256(whole));
  const envelope = (message: FragmentMessage): SendRequest => ({
    operationType: FRAGMENT_OPERATION,
    message,
    ...(request.cliId === undefined ? {} : { cliId: request.cliId }),
    ...(request.sessionId === undefined ? {} : { sessionId: request.sessionId }),
  });
  // Room for data in one frame: the frame with empty data and the largest index/count, then base64.
  const overhead =
    utf8Length(buildSendServerFrame(peer, envelope(header(99_999, 99_999)))) + CLIENT_MSG_ID_RESERVE;
  const chunk = Math.floor((MAX_FRAME_BYTES - overhead - 16) / 4) * 3;
  if (chunk <= 0) throw new RangeError('ids too long to leave room for fragment data');
  const count = Math.max(1, Math.ceil(whole.length / chunk));
  const requests: SendRequest[] = [];
  for (let index = 0; index < count; index++) {
    const message = header(index, count);
    message.data = Buffer.from(whole.subarray(index * chunk, (index + 1) * chunk)).toString('base64');
    requests.push(envelope(message));
  }
  return requests;
}

/** Why a fragment set was refused. */
export interface FragmentRefusal {
  from: string;
  id?: string;
  sessionId?: string;
  code:
    | 'FRAGMENT_INVALID'
    | 'FRAGMENT_INCONSISTENT'
    | 'FRAGMENT_DIGEST'
    | 'FRAGMENT_TOO_LARGE'
    | 'FRAGMENT_EXPIRED';
  reason: string;
}

interface PendingSet {
  from: string;
  to: string | undefined;
  sessionId: string | undefined;
  header: FragmentMessage['fragment'];
  parts: (Buffer | undefined)[];
  received: number;
  timer: NodeJS.Timeout;
}

/** Reassembles fragment sets per sender; one per client. */
export class Reassembler {
  readonly #sets = new Map<string, PendingSet>();
  /** Sets recently completed or refused: their late fragments are dropped quietly. */
  readonly #closed = new Set<string>();
  readonly #maxBytes: number;
  readonly #timeoutMs: number;
  #buffered = 0;

  constructor(
    options: FragmentOptions,
    private readonly refused: (refusal: FragmentRefusal) => void,
  ) {
    this.#maxBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_FRAGMENT_TIMEOUT_MS;
  }

  /** Bytes held by incomplete sets. */
  get bufferedBytes(): number {
    return this.#buffered;
  }

  get pendingSets(): number {
    return this.#sets.size;
  }

  /** Takes a `Fragment` delivery; returns the whole message once its set is complete. */
  add(delivery: Delivery): Delivery | undefined {
    const parsed = FragmentMessageSchema.safeParse(delivery.message);
    if (!parsed.success) {
      this.refused({
        from: delivery.from,
        code: 'FRAGMENT_INVALID',
        reason: `not a valid fragment: ${parsed.error.issues.map((i) => i.path.join('.') || '(root)').join(', ')}`,
      });
      return undefined;
    }
    const { fragment, data } = parsed.data;
    const key = `${delivery.from}\u0000${fragment.id}`;
    if (this.#closed.has(key)) return undefined;
    const refuse = (code: FragmentRefusal['code'], reason: string) => {
      this.#drop(key);
      this.#remember(key);
      this.refused({
        from: delivery.from,
        id: fragment.id,
        ...(delivery.sessionId === undefined ? {} : { sessionId: delivery.sessionId }),
        code,
        reason,
      });
      return undefined;
    };
    const bytes = Buffer.from(data, 'base64');
    let set = this.#sets.get(key);
    if (!set) {
      if (fragment.size > this.#maxBytes || (fragment.originalSize ?? 0) > this.#maxBytes) {
        return refuse(
          'FRAGMENT_TOO_LARGE',
          `message of ${fragment.size} bytes is over the ${this.#maxBytes}-byte limit`,
        );
      }
      if (this.#buffered + fragment.size > this.#maxBytes) {
        return refuse(
          'FRAGMENT_TOO_LARGE',
          `reassembly buffer full (${this.#buffered} of ${this.#maxBytes} bytes held)`,
        );
      }
      set = {
        from: delivery.from,
        to: delivery.to,
        sessionId: delivery.sessionId,
        header: fragment,
        parts: new Array(fragment.count).fill(undefined),
        received: 0,
        timer: setTimeout(() => {
          this.#drop(key);
          this.#remember(key);
          this.refused({
            from: delivery.from,
            id: fragment.id,
            code: 'FRAGMENT_EXPIRED',
            reason: 'incomplete set expired',
          });
        }, this.#timeoutMs),
      };
      set.timer.unref();
      this.#buffered += fragment.size;
      this.#sets.set(key, set);
    }
    const h = set.header;
    if (
      h.count !== fragment.count ||
      h.size !== fragment.size ||
      h.sha256 !== fragment.sha256 ||
      h.encoding !== fragment.encoding ||
      h.operationType !== fragment.operationType ||
      h.originalSize !== fragment.originalSize ||
      set.sessionId !== delivery.sessionId
    ) {
      return refuse(
        'FRAGMENT_INCONSISTENT',
        `fragment ${fragment.index} disagrees with the set's first fragment`,
      );
    }
    const existing = set.parts[fragment.index];
    if (existing) {
      if (existing.equals(bytes)) return undefined; // a duplicate
      return refuse('FRAGMENT_INCONSISTENT', `fragment ${fragment.index} arrived twice with different data`);
    }
    set.parts[fragment.index] = bytes;
    set.received += 1;
    if (set.received < set.header.count) return undefined;
    this.#drop(key);
    this.#remember(key);
    const whole = Buffer.concat(set.parts as Buffer[]);
    if (whole.length !== h.size)
      return refuse('FRAGMENT_INCONSISTENT', `set holds ${whole.length} bytes, not ${h.size}`);
    if (bytesToHex(sha256(whole)) !== h.sha256)
      return refuse('FRAGMENT_DIGEST', 'SHA-256 of the reassembled message does not match');
    let text: string;
    try {
      text = (
        h.encoding === 'br' ? brotliDecompressSync(whole, { maxOutputLength: this.#maxBytes }) : whole
      ).toString('utf8');
    } catch {
      return refuse('FRAGMENT_TOO_LARGE', 'message does not decompress within the size limit');
    }
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      return refuse('FRAGMENT_INVALID', 'reassembled message is not JSON');
    }
    const frame = {
      operationType: h.operationType,
      from: set.from,
      ...(set.to === undefined ? {} : { to: set.to }),
      message,
      ...(set.sessionId === undefined ? {} : { sessionId: set.sessionId }),
    };
    return {
      ...frame,
      ...(delivery.messageId === undefined ? {} : { messageId: delivery.messageId }),
      ...(delivery.sentAt === undefined ? {} : { sentAt: delivery.sentAt }),
      fragments: { id: h.id, count: h.count, bytes: h.size },
      raw: JSON.stringify(frame),
    };
  }

  clear(): void {
    for (const key of [...this.#sets.keys()]) this.#drop(key);
  }

  #drop(key: string): void {
    const set = this.#sets.get(key);
    if (!set) return;
    clearTimeout(set.timer);
    this.#buffered -= set.header.size;
    this.#sets.delete(key);
  }

  #remember(key: string): void {
    this.#closed.add(key);
    if (this.#closed.size > 10_000) {
      const oldest = this.#closed.values().next().value;
      if (oldest !== undefined) this.#closed.delete(oldest);
    }
  }
}
