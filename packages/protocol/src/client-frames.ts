import { PeerIdSchema } from './ids.js';
import { CLIENT_MESSAGE_ID_MAX_LENGTH, MAX_ACK_IDS, SESSION_ID_MAX_LENGTH } from './limits.js';
import { OperationTypeSchema } from './operations.js';
import * as z from './zod.js';
import { described, withMetadata } from './zod.js';

/** Any JSON value: the relay forwards unknown operation types' messages untouched. */
export const JsonValueSchema = z.unknown().apply(described, 'Any JSON value');

/** A required `message` field: any JSON value (including `null`), but present. */
export const MessageSchema = JsonValueSchema.check(
  z.refine((value) => value !== undefined, 'is required'),
).apply(described, 'The payload: any JSON value; known operation types require their documented fields');

export const ClientMessageIdSchema = z
  .string()
  .check(
    z.minLength(1, 'must not be empty'),
    z.maxLength(CLIENT_MESSAGE_ID_MAX_LENGTH, `must be at most ${CLIENT_MESSAGE_ID_MAX_LENGTH} characters`),
  )
  .apply(described, 'A sender-chosen id for one message, unique per sender (protocol v2)');

/**
 * The conversation a message belongs to, named by its sender (any operation type, v1 and v2): the
 * relay routes a cli's reply carrying it to the mpc that opened that conversation. 1 to 128
 * visible ASCII characters (no spaces).
 */
export const SessionIdSchema = z
  .string()
  .check(
    z.minLength(1, { message: 'must not be empty', abort: true }),
    z.maxLength(SESSION_ID_MAX_LENGTH, {
      message: `must be at most ${SESSION_ID_MAX_LENGTH} characters`,
      abort: true,
    }),
    z.regex(/^[\x21-\x7E]+$/, 'may only contain visible ASCII characters (no spaces)'),
  )
  .apply(
    described,
    'The conversation this message belongs to; a reply carrying it goes to that conversation',
  );

/** `{"action":"getConnectionId"}`: asks for the caller's connection id. */
export const GetConnectionIdFrameSchema = z
  .looseObject({ action: z.literal('getConnectionId') })
  .apply(described, "Asks the relay for the caller's connection id");

/**
 * `{"action":"sendServer", ...}`: relays a message. From an mpc, `cliToMpc` (`{CLI_ID: MPC_ID}`,
 * exactly one entry whose value is the sender's own id) names the cli and opens (or continues) the
 * conversation of its key (`conversationKey`). From a cli, no `cliToMpc`: the relay answers the
 * mpc of the conversation the reply's key names, or without a key the mpc that last contacted it.
 */
export const SendServerFrameSchema = z
  .looseObject({
    action: z.literal('sendServer'),
    sourceId: PeerIdSchema.apply(described, "The sender's own id; must match the authenticated connection"),
    cliToMpc: z
      .optional(
        z
          .record(PeerIdSchema, PeerIdSchema)
          .check(
            z.refine(
              (map) => Object.keys(map).length === 1,
              'must name exactly one cli: {"CLI_ID": "MPC_ID"}',
            ),
          )
          // The refinement is invisible to JSON Schema; say the same thing there.
          .apply(withMetadata, { minProperties: 1, maxProperties: 1 }),
      )
      .apply(described, 'From an mpc: {CLI_ID: MPC_ID} naming the cli to deliver to'),
    operationType: OperationTypeSchema,
    message: MessageSchema,
    sessionId: z.optional(SessionIdSchema),
    clientMsgId: z.optional(ClientMessageIdSchema),
  })
  .apply(described, 'Relays a message to the peer');

/** `{"action":"ack","messageIds":[...]}`: acknowledges delivered messages (protocol v2). */
export const AckFrameSchema = z
  .looseObject({
    action: z.literal('ack'),
    messageIds: z
      .array(z.string().check(z.minLength(1), z.maxLength(CLIENT_MESSAGE_ID_MAX_LENGTH)))
      .check(
        z.minLength(1, 'must name at least one message id'),
        z.maxLength(MAX_ACK_IDS, `must name at most ${MAX_ACK_IDS} message ids`),
      ),
  })
  .apply(described, 'Acknowledges delivered messages by their relay message ids (protocol v2)');

/** `{"action":"ping"}`: application-level keepalive; the relay answers a pong frame. */
export const PingFrameSchema = z
  .looseObject({ action: z.literal('ping') })
  .apply(described, 'Application keepalive; answered with a pong frame');

export const CLIENT_FRAME_SCHEMAS = {
  getConnectionId: GetConnectionIdFrameSchema,
  sendServer: SendServerFrameSchema,
  ack: AckFrameSchema,
  ping: PingFrameSchema,
} as const;

export type ClientAction = keyof typeof CLIENT_FRAME_SCHEMAS;
export const CLIENT_ACTIONS = Object.keys(CLIENT_FRAME_SCHEMAS) as ClientAction[];

export type GetConnectionIdFrame = z.infer<typeof GetConnectionIdFrameSchema>;
export type SendServerFrame = z.infer<typeof SendServerFrameSchema>;
export type AckFrame = z.infer<typeof AckFrameSchema>;
export type PingFrame = z.infer<typeof PingFrameSchema>;
export type ClientFrame = GetConnectionIdFrame | SendServerFrame | AckFrame | PingFrame;
