import type { z } from 'zod';
import {
  CLIENT_ACTIONS,
  CLIENT_FRAME_SCHEMAS,
  type ClientAction,
  type ClientFrame,
} from './client-frames.js';
import { ErrorCode, type FrameIssue } from './errors.js';
import { MAX_MESSAGE_BYTES, utf8Length } from './limits.js';
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
import { type DecodeError, type DecodeResult, issuesFromZod } from './result.js';

function fail(code: ErrorCode, message: string, issues?: FrameIssue[]): { ok: false; error: DecodeError } {
  return { ok: false, error: issues ? { code, message, issues } : { code, message } };
}

function describeIssues(issues: FrameIssue[]): string {
  return issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ');
}

/** Parses JSON text into a plain object, or says why it is not one. Never throws. */
function parseJsonObject(text: string, maxBytes: number): DecodeResult<Record<string, unknown>> {
  if (typeof text !== 'string') return fail(ErrorCode.InvalidJson, 'frame must be text');
  const size = utf8Length(text);
  if (size > maxBytes) {
    return fail(ErrorCode.MessageTooLarge, `message is ${size} bytes; the limit is ${maxBytes} bytes`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return fail(ErrorCode.InvalidJson, `body is not valid JSON: ${(error as Error).message}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return fail(ErrorCode.InvalidJson, 'body must be a JSON object such as {"action":"getConnectionId"}');
  }
  return { ok: true, value: value as Record<string, unknown> };
}

function safeParse<T>(schema: z.ZodType<T>, value: unknown): DecodeResult<T> {
  try {
    const parsed = schema.safeParse(value);
    if (parsed.success) return { ok: true, value: parsed.data };
    const issues = issuesFromZod(parsed.error);
    return fail(ErrorCode.InvalidFrame, `invalid frame: ${describeIssues(issues)}`, issues);
  } catch (error) {
    // Pathological input (e.g. nesting deep enough to exhaust the stack) is refused, not thrown.
    return fail(ErrorCode.InvalidFrame, `invalid frame: ${(error as Error).message}`);
  }
}

/**
 * Decodes a frame a client sent to the relay. Never throws: returns the typed frame, or an error
 * naming the code (`INVALID_JSON`, `INVALID_FRAME`, `UNKNOWN_ACTION`, `MESSAGE_TOO_LARGE`) and the
 * fields at fault. Known operation types must carry their documented message fields.
 */
export function decodeClientFrame(text: string, maxBytes = MAX_MESSAGE_BYTES): DecodeResult<ClientFrame> {
  const json = parseJsonObject(text, maxBytes);
  if (!json.ok) return json;
  const action = json.value.action;
  if (action === undefined) {
    return fail(ErrorCode.InvalidFrame, `missing "action"; expected one of ${CLIENT_ACTIONS.join(', ')}`, [
      { path: 'action', message: 'is required' },
    ]);
  }
  if (typeof action !== 'string' || !Object.hasOwn(CLIENT_FRAME_SCHEMAS, action)) {
    return fail(
      ErrorCode.UnknownAction,
      `unknown action ${JSON.stringify(action)}; expected one of ${CLIENT_ACTIONS.join(', ')}`,
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
 * `fullSig`). Unknown operation types pass as opaque JSON.
 */
export function validateOperationMessage(operationType: string, message: unknown): DecodeResult<unknown> {
  if (!isKnownOperationType(operationType)) return { ok: true, value: message };
  const parsed = safeParse(KNOWN_OPERATIONS[operationType] as z.ZodType<unknown>, message);
  if (parsed.ok) return { ok: true, value: message };
  const issues = (parsed.error.issues ?? []).map((issue) => ({
    path: issue.path === '(root)' ? 'message' : `message.${issue.path}`,
    message: issue.message,
  }));
  return fail(ErrorCode.InvalidFrame, `invalid ${operationType} message: ${describeIssues(issues)}`, issues);
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

function tagged<K extends RelayFrame['kind'], T>(
  kind: K,
  schema: z.ZodType<T>,
  value: unknown,
): DecodeResult<RelayFrame> {
  const parsed = safeParse(schema, value);
  return parsed.ok ? { ok: true, value: { kind, frame: parsed.value } as RelayFrame } : parsed;
}

/**
 * Decodes a frame received from the relay (for clients). Never throws. Tells apart the connection
 * id answer, deliveries (seed and v2), acknowledgements, pongs, relay errors and API Gateway's own
 * `{"message":"Forbidden",...}` frames.
 */
export function decodeRelayFrame(text: string, maxBytes = MAX_MESSAGE_BYTES): DecodeResult<RelayFrame> {
  const json = parseJsonObject(text, maxBytes);
  if (!json.ok) return json;
  const value = json.value;
  if ('error' in value) return tagged('error', ErrorFrameSchema, value);
  if ('ack' in value) return tagged('ack', AckResultFrameSchema, value);
  if ('pong' in value) return tagged('pong', PongFrameSchema, value);
  if ('operationType' in value) {
    if ('messageId' in value) return tagged('v2Delivery', V2DeliveryFrameSchema, value);
    if ('to' in value) return tagged('mpcDelivery', MpcDeliveryFrameSchema, value);
    return tagged('cliDelivery', CliDeliveryFrameSchema, value);
  }
  if ('message' in value) return tagged('gatewayError', GatewayErrorFrameSchema, value);
  if ('connectionId' in value) return tagged('connectionId', ConnectionIdFrameSchema, value);
  return fail(ErrorCode.InvalidFrame, 'unrecognised relay frame', [
    { path: '(root)', message: 'unknown shape' },
  ]);
}

// Encoders: the relay's frames, built field by field so their key order is exactly the seed's.

export function encodeConnectionId(connectionId: string): string {
  return JSON.stringify({ connectionId } satisfies ConnectionIdFrame);
}

export function encodeCliDelivery(frame: CliDeliveryFrame): string {
  return JSON.stringify({ operationType: frame.operationType, from: frame.from, message: frame.message });
}

export function encodeMpcDelivery(frame: MpcDeliveryFrame): string {
  return JSON.stringify({
    operationType: frame.operationType,
    from: frame.from,
    to: frame.to,
    message: frame.message,
  });
}

export function encodeV2Delivery(frame: V2DeliveryFrame): string {
  return JSON.stringify({
    operationType: frame.operationType,
    from: frame.from,
    ...(frame.to === undefined ? {} : { to: frame.to }),
    message: frame.message,
    messageId: frame.messageId,
    ...(frame.clientMsgId === undefined ? {} : { clientMsgId: frame.clientMsgId }),
    sentAt: frame.sentAt,
  });
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

export function encodeError(error: ErrorFrameInput): string {
  const body: ErrorFrame['error'] = { code: error.code, message: error.message };
  if (error.issues && error.issues.length > 0) body.issues = error.issues;
  if (error.action !== undefined) body.action = error.action;
  if (error.clientMsgId !== undefined) body.clientMsgId = error.clientMsgId;
  return JSON.stringify({ error: body });
}
