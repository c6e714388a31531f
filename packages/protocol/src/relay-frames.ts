import { ClientMessageIdSchema, JsonValueSchema, SessionIdSchema } from './client-frames.js';
import { ERROR_CODES } from './errors.js';
import { PeerIdSchema } from './ids.js';
import { OperationTypeSchema } from './operations.js';
import * as z from './zod.js';

// Each schema is built in a call marked pure (`describedSchema`), so a bundle that never reads relay
// frames (a relay handler) does not build them at load time.

/**
 * The answer to `getConnectionId`: `{"connectionId": "..."}`. The relay sends exactly this; other
 * fields may sit beside `connectionId` in later versions, so readers must ignore them.
 */
export const ConnectionIdFrameSchema = /* @__PURE__ */ z.describedSchema("The caller's connection id", () =>
  z.looseObject({ connectionId: z.string().check(z.minLength(1)) }),
);

/**
 * What a cli receives from an mpc: exactly the original demo's `{operationType, from, message}`,
 * plus `sessionId` only when the sender gave one.
 */
export const CliDeliveryFrameSchema = /* @__PURE__ */ z.describedSchema('A message delivered to a cli', () =>
  z.strictObject({
    operationType: OperationTypeSchema,
    from: PeerIdSchema,
    message: JsonValueSchema,
    sessionId: z.optional(SessionIdSchema),
  }),
);

/**
 * What an mpc receives from a cli: exactly the original demo's `{operationType, from, to, message}`,
 * plus `sessionId` only when the sender gave one.
 */
export const MpcDeliveryFrameSchema = /* @__PURE__ */ z.describedSchema('A message delivered to an mpc', () =>
  z.strictObject({
    operationType: OperationTypeSchema,
    from: PeerIdSchema,
    to: PeerIdSchema,
    message: JsonValueSchema,
    sessionId: z.optional(SessionIdSchema),
  }),
);

/**
 * A delivered message in protocol v2: the original demo fields plus the relay's message id (to acknowledge),
 * the sender's client message id when it gave one, and when the relay accepted it.
 */
export const V2DeliveryFrameSchema = /* @__PURE__ */ z.describedSchema(
  'A message delivered to a protocol v2 connection; acknowledge it by messageId',
  () =>
    z.strictObject({
      operationType: OperationTypeSchema,
      from: PeerIdSchema,
      to: z.optional(PeerIdSchema),
      message: JsonValueSchema,
      sessionId: z.optional(SessionIdSchema),
      messageId: z.string().check(z.minLength(1)),
      clientMsgId: z.optional(ClientMessageIdSchema),
      sentAt: z.number().check(z.int(), z.nonnegative()),
    }),
);

/** Tells a v2 sender its message was accepted: `delivered` to a live connection or `stored` for later. */
export const AckResultFrameSchema = /* @__PURE__ */ z.describedSchema(
  'Acknowledges a sent message to its v2 sender',
  () =>
    z.strictObject({
      ack: z.strictObject({
        clientMsgId: ClientMessageIdSchema,
        messageId: z.string().check(z.minLength(1)),
        status: z.enum(['delivered', 'stored', 'duplicate']),
      }),
    }),
);

/** The answer to `ping`. */
export const PongFrameSchema = /* @__PURE__ */ z.describedSchema('The answer to ping', () =>
  z.strictObject({ pong: z.number().check(z.int()) }),
);

/** A structured error: a stable `code`, a human `message`, and the fields at fault. */
export const ErrorFrameSchema = /* @__PURE__ */ z.describedSchema(
  'An error answered to the sender; the connection stays open',
  () =>
    z.strictObject({
      error: z.strictObject({
        code: z.enum(ERROR_CODES as [string, ...string[]]),
        message: z.string(),
        issues: z.optional(z.array(z.strictObject({ path: z.string(), message: z.string() }))),
        action: z.optional(z.string()),
        clientMsgId: z.optional(ClientMessageIdSchema),
      }),
    }),
);

/** API Gateway's own frames (`Forbidden`, `Internal server error`), sent without any handler. */
export const GatewayErrorFrameSchema = /* @__PURE__ */ z.describedSchema(
  "API Gateway's own error frame",
  () =>
    z.looseObject({
      message: z.string(),
      connectionId: z.optional(z.string()),
      requestId: z.optional(z.string()),
    }),
);

export type ConnectionIdFrame = z.infer<typeof ConnectionIdFrameSchema>;
export type CliDeliveryFrame = z.infer<typeof CliDeliveryFrameSchema>;
export type MpcDeliveryFrame = z.infer<typeof MpcDeliveryFrameSchema>;
export type V2DeliveryFrame = z.infer<typeof V2DeliveryFrameSchema>;
export type AckResultFrame = z.infer<typeof AckResultFrameSchema>;
export type PongFrame = z.infer<typeof PongFrameSchema>;
export type ErrorFrame = z.infer<typeof ErrorFrameSchema>;
export type GatewayErrorFrame = z.infer<typeof GatewayErrorFrameSchema>;
