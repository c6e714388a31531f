import {
  CLIENT_ACTIONS,
  CLIENT_FRAME_SCHEMAS,
  type ClientAction,
  type ClientFrame,
} from './client-frames.js';
import { ErrorCode, type FrameIssue } from './errors.js';
import {
  CLIENT_MESSAGE_ID_MAX_LENGTH,
  MAX_ERROR_ISSUES,
  MAX_ERROR_TEXT_LENGTH,
  MAX_JSON_DEPTH,
  MAX_MESSAGE_BYTES,
  utf8Length,
} from './limits.js';
import { isKnownOperationType, KNOWN_OPERATIONS } from './operations.js';
import {
  type AckResultFrame,
  AckResultFrameSchema,
  type CliDeliveryFrame,
  CliDeliveryFrameSchema,
  type ConnectionIdFrame,
  ConnectionIdFrameSchema,
  type ErrorFrame,
  ErrorFrameSchema,
  type GatewayErrorFrame,
  GatewayErrorFrameSchema,
  type MpcDeliveryFrame,
  MpcDeliveryFrameSchema,
  type PongFrame,
  PongFrameSchema,
  type V2DeliveryFrame,
  V2DeliveryFrameSchema,
} from './relay-frames.js';
import { type DecodeError, type DecodeResult, issuesFromZod, PARSE_OPTIONS } from './result.js';
import * as z from './zod.js';

/** Shortens text an error frame echoes back (ids, keys, parser messages can be sender-controlled). */
export function clipText(text: string, max = MAX_ERROR_TEXT_LENGTH): string {
  return text.length <= max ? text : `${text.slice(0, Math.max(0, max - 1))}\u2026`;
}

/** At most MAX_ERROR_ISSUES issues with clipped texts, so an error frame stays small. */
function capIssues(issues: readonly FrameIssue[]): FrameIssue[] {
  return issues.slice(0, MAX_ERROR_ISSUES).map((issue) => ({
    path: clipText(String(issue.path)),
    message: clipText(String(issue.message)),
  }));
}

/** The first few issues as one line for the error message; `issues` lists up to MAX_ERROR_ISSUES. */
function describeIssues(issues: readonly FrameIssue[]): string {
  const shown = issues
    .slice(0, 3)
    .map((issue) => `${clipText(issue.path, 80)}: ${clipText(issue.message, 120)}`)
    .join('; ');
  return issues.length > 3 ? `${shown}; and ${issues.length - 3} more` : shown;
}

function fail(code: ErrorCode, message: string, issues?: FrameIssue[]): { ok: false; error: DecodeError } {
  const text = clipText(message, MAX_ERROR_TEXT_LENGTH * 2);
  return {
    ok: false,
    error: issues ? { code, message: text, issues: capIssues(issues) } : { code, message: text },
  };
}

/**
 * Deepest nesting of arrays and objects in JSON text already known to be valid, or `limit + 1` as
 * soon as it goes deeper than `limit`. Brackets inside strings do not count.
 */
function jsonDepthExceeds(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let index = 0; index < text.length; index++) {
    const char = text.charCodeAt(index);
    if (inString) {
      if (char === 0x5c /* backslash: skip the escaped char */) index++;
      else if (char === 0x22 /* " */) inString = false;
    } else if (char === 0x22) {
      inString = true;
    } else if (char === 0x5b /* [ */ || char === 0x7b /* { */) {
      if (++depth > limit) return true;
    } else if (char === 0x5d /* ] */ || char === 0x7d /* } */) {
      depth--;
    }
  }
  return false;
}

/** Parses JSON text into a plain object, or says why it is not one. Never throws. */
function parseJsonObject(text: string, maxBytes: number): DecodeResult<Record<string, unknown>> {
  if (typeof text !== 'string') return fail(ErrorCode.InvalidJson, 'frame must be text');
  // UTF-8 needs at least one byte per UTF-16 unit, so only long texts need counting.
  if (text.length > maxBytes / 3) {
    const size = utf8Length(text);
    if (size > maxBytes) {
      return fail(ErrorCode.MessageTooLarge, `message is ${size} bytes; the limit is ${maxBytes} bytes`);
    }
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return fail(
      ErrorCode.InvalidJson,
      `body is not valid JSON: ${(error as Error)?.message ?? String(error)}`,
    );
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return fail(ErrorCode.InvalidJson, 'body must be a JSON object such as {"action":"getConnectionId"}');
  }
  if (text.length > MAX_JSON_DEPTH && jsonDepthExceeds(text, MAX_JSON_DEPTH)) {
    return fail(ErrorCode.InvalidFrame, `JSON is nested deeper than ${MAX_JSON_DEPTH} levels`, [
      { path: '(root)', message: `must not nest arrays and objects deeper than ${MAX_JSON_DEPTH} levels` },
    ]);
  }
  return { ok: true, value: value as Record<string, unknown> };
}

/** Runs a schema without ever throwing: a zod result, or the exception's text. */
function runSchema<T>(
  schema: z.core.$ZodType<T>,
  value: unknown,
): { ok: true; value: T } | { ok: false; issues: FrameIssue[]; reason: string } {
  try {
    const parsed = z.safeParse(schema, value, PARSE_OPTIONS);
    if (parsed.success) return { ok: true, value: parsed.data };
    const issues = issuesFromZod(parsed.error);
    return { ok: false, issues, reason: describeIssues(issues) };
  } catch (error) {
    // Defensive: zod does not throw on plain JSON, but a decoder must never throw.
    return { ok: false, issues: [], reason: String((error as Error)?.message ?? error) };
  }
}

function safeParse<T>(schema: z.core.$ZodType<T>, value: unknown): DecodeResult<T> {
  const parsed = runSchema(schema, value);
  if (parsed.ok) return parsed;
  return fail(ErrorCode.InvalidFrame, `invalid frame: ${parsed.reason}`, parsed.issues);
}

/**
 * Decodes a frame a client sent to the relay. Never throws: returns the typed frame, or an error
 * naming the code (`INVALID_JSON`, `INVALID_FRAME`, `UNKNOWN_ACTION`, `MESSAGE_TOO_LARGE`) and the
 * fields at fault (`issues[].path`, e.g. `sourceId`, `cliToMpc`, `message.partialSig`). Known
 * operation types must carry their documented message fields; unknown ones pass as opaque JSON.
 */
export function decodeClientFrame(text: string, maxBytes = MAX_MESSAGE_BYTES): DecodeResult<ClientFrame> {
  const json = parseJsonObject(text, maxBytes);
  if (!json.ok) return json;
  const action = json.value.action;
  const expected = `expected one of ${CLIENT_ACTIONS.join(', ')}`;
  if (action === undefined) {
    return fail(ErrorCode.InvalidFrame, `missing "action"; ${expected}`, [
      { path: 'action', message: 'is required' },
    ]);
  }
  if (typeof action !== 'string') {
    return fail(ErrorCode.InvalidFrame, `"action" must be a string; ${expected}`, [
      { path: 'action', message: 'must be a string' },
    ]);
  }
  if (!Object.hasOwn(CLIENT_FRAME_SCHEMAS, action)) {
    return fail(
      ErrorCode.UnknownAction,
      `unknown action ${JSON.stringify(clipText(action, 64))}; ${expected}`,
      [{ path: 'action', message: 'unknown action' }],
    );
  }
  const frame = safeParse<ClientFrame>(CLIENT_FRAME_SCHEMAS[action as ClientAction], json.value);
  if (!frame.ok || frame.value.action !== 'sendServer') return frame;
  const message = validateOperationMessage(frame.value.operationType, frame.value.message);
  return message.ok ? frame : message;
}

/**
 * Checks a known operation type's message against its schema (`PartialSig`, `FullSig`, `signing`,
 * `fullSig`); issue paths start with `message` (e.g. `message.partialSig`). Unknown operation types
 * pass as opaque JSON. Never throws.
 */
export function validateOperationMessage(operationType: string, message: unknown): DecodeResult<unknown> {
  if (typeof operationType !== 'string' || !isKnownOperationType(operationType)) {
    return { ok: true, value: message };
  }
  const parsed = runSchema(KNOWN_OPERATIONS[operationType] as z.core.$ZodType<unknown>, message);
  if (parsed.ok) return { ok: true, value: message };
  const issues = parsed.issues.map((issue) => ({
    path: issue.path === '(root)' ? 'message' : `message.${issue.path}`,
    message: issue.message,
  }));
  const reason = issues.length > 0 ? describeIssues(issues) : parsed.reason;
  return fail(ErrorCode.InvalidFrame, `invalid ${operationType} message: ${reason}`, issues);
}

/** Every frame the relay (or API Gateway itself) sends to a client, tagged by kind. */
export type RelayFrame =
  | { kind: 'connectionId'; frame: ConnectionIdFrame }
  | { kind: 'cliDelivery'; frame: CliDeliveryFrame }
  | { kind: 'mpcDelivery'; frame: MpcDeliveryFrame }
  | { kind: 'v2Delivery'; frame: V2DeliveryFrame }
  | { kind: 'ack'; frame: AckResultFrame }
  | { kind: 'pong'; frame: PongFrame }
  | { kind: 'error'; frame: ErrorFrame }
  | { kind: 'gatewayError'; frame: GatewayErrorFrame };

// Readers are tolerant (robustness principle): fields a later relay adds beside the documented ones
// are kept, not refused, so an older client keeps working. Documented fields are still checked.
const loose = <T extends z.ZodMiniObject>(schema: T) => z.catchall(schema, z.unknown());
// Built on first use: a bundle that never decodes relay frames (a relay handler) carries none of them.
let relayFrameReaders: ReturnType<typeof buildRelayFrameReaders> | undefined;
const buildRelayFrameReaders = () =>
  ({
    connectionId: ConnectionIdFrameSchema,
    cliDelivery: loose(CliDeliveryFrameSchema),
    mpcDelivery: loose(MpcDeliveryFrameSchema),
    v2Delivery: loose(V2DeliveryFrameSchema),
    ack: loose(z.extend(AckResultFrameSchema, { ack: loose(AckResultFrameSchema.shape.ack) })),
    pong: loose(PongFrameSchema),
    error: loose(
      z.extend(ErrorFrameSchema, {
        error: loose(
          z.extend(ErrorFrameSchema.shape.error, {
            // A code added by a later relay is still an error frame.
            code: z.string().check(z.minLength(1)),
            issues: z.optional(z.array(z.looseObject({ path: z.string(), message: z.string() }))),
          }),
        ),
      }),
    ),
    gatewayError: GatewayErrorFrameSchema,
  }) satisfies Record<RelayFrame['kind'], z.core.$ZodType>;

function tagged(kind: RelayFrame['kind'], value: unknown): DecodeResult<RelayFrame> {
  relayFrameReaders ??= buildRelayFrameReaders();
  const parsed = safeParse<unknown>(relayFrameReaders[kind], value);
  return parsed.ok ? { ok: true, value: { kind, frame: parsed.value } as RelayFrame } : parsed;
}

/**
 * Decodes a frame received from the relay (for clients). Never throws. Tells apart the connection
 * id answer, deliveries (v1 and v2), acknowledgements, pongs, relay errors and API Gateway's own
 * `{"message":"Forbidden",...}` frames. Unknown extra fields are kept, so newer relays stay readable.
 */
export function decodeRelayFrame(text: string, maxBytes = MAX_MESSAGE_BYTES): DecodeResult<RelayFrame> {
  const json = parseJsonObject(text, maxBytes);
  if (!json.ok) return json;
  const value = json.value;
  if ('error' in value) return tagged('error', value);
  if ('ack' in value) return tagged('ack', value);
  if ('pong' in value) return tagged('pong', value);
  if ('operationType' in value) {
    if ('messageId' in value) return tagged('v2Delivery', value);
    if ('to' in value) return tagged('mpcDelivery', value);
    return tagged('cliDelivery', value);
  }
  if ('message' in value) return tagged('gatewayError', value);
  if ('connectionId' in value) return tagged('connectionId', value);
  return fail(ErrorCode.InvalidFrame, 'unrecognised relay frame', [
    { path: '(root)', message: 'unknown shape' },
  ]);
}

// Encoders: the relay's frames, built field by field so their key order is exactly the original demo's.

export function encodeConnectionId(connectionId: string): string {
  return JSON.stringify({ connectionId } satisfies ConnectionIdFrame);
}

// `sessionId` follows `message` only when the sender gave one: a v1 exchange keeps its exact bytes.

export function encodeCliDelivery(frame: CliDeliveryFrame): string {
  return JSON.stringify({
    operationType: frame.operationType,
    from: frame.from,
    message: frame.message,
    ...(frame.sessionId === undefined ? {} : { sessionId: frame.sessionId }),
  });
}

export function encodeMpcDelivery(frame: MpcDeliveryFrame): string {
  return JSON.stringify({
    operationType: frame.operationType,
    from: frame.from,
    to: frame.to,
    message: frame.message,
    ...(frame.sessionId === undefined ? {} : { sessionId: frame.sessionId }),
  });
}

export function encodeV2Delivery(frame: V2DeliveryFrame): string {
  return JSON.stringify({
    operationType: frame.operationType,
    from: frame.from,
    ...(frame.to === undefined ? {} : { to: frame.to }),
    message: frame.message,
    ...(frame.sessionId === undefined ? {} : { sessionId: frame.sessionId }),
    messageId: frame.messageId,
    ...(frame.clientMsgId === undefined ? {} : { clientMsgId: frame.clientMsgId }),
    sentAt: frame.sentAt,
  });
}

/**
 * The v2 delivery of a v1 delivery text (`encodeCliDelivery` / `encodeMpcDelivery` output): the
 * same bytes as `encodeV2Delivery` of its fields plus the ids, built by appending to the text (the
 * relay stores the original demo text once and serves both kinds of receivers from it, without a re-parse).
 */
export function upgradeToV2Delivery(
  v1Delivery: string,
  ids: { messageId: string; clientMsgId?: string | undefined; sentAt: number },
): string {
  if (!v1Delivery.endsWith('}')) throw new Error('not a delivery frame');
  const extra = `,"messageId":${JSON.stringify(ids.messageId)}${
    ids.clientMsgId === undefined ? '' : `,"clientMsgId":${JSON.stringify(ids.clientMsgId)}`
  },"sentAt":${JSON.stringify(ids.sentAt)}}`;
  return `${v1Delivery.slice(0, -1)}${extra}`;
}

export function encodeAckResult(ack: AckResultFrame['ack']): string {
  return JSON.stringify({
    ack: { clientMsgId: ack.clientMsgId, messageId: ack.messageId, status: ack.status },
  });
}

export function encodePong(now = Date.now()): string {
  return JSON.stringify({ pong: now } satisfies PongFrame);
}

export interface ErrorFrameInput {
  code: ErrorCode;
  message: string;
  issues?: FrameIssue[] | undefined;
  action?: string | undefined;
  clientMsgId?: string | undefined;
}

/**
 * The error frame `{"error":{"code","message","issues"?,"action"?,"clientMsgId"?}}`. Texts are clipped
 * and at most MAX_ERROR_ISSUES issues are listed, so an error frame always fits in a message.
 */
export function encodeError(error: ErrorFrameInput): string {
  const body: ErrorFrame['error'] = {
    code: error.code,
    message: clipText(error.message, MAX_ERROR_TEXT_LENGTH * 2),
  };
  if (error.issues && error.issues.length > 0) body.issues = capIssues(error.issues);
  if (error.action !== undefined) body.action = clipText(error.action, 64);
  if (error.clientMsgId !== undefined)
    body.clientMsgId = clipText(error.clientMsgId, CLIENT_MESSAGE_ID_MAX_LENGTH);
  return JSON.stringify({ error: body });
}
