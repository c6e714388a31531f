import * as z from 'zod';
import { PeerIdSchema } from './ids.js';
import { CLIENT_MESSAGE_ID_MAX_LENGTH, MAX_ACK_IDS, SESSION_ID_MAX_LENGTH } from './limits.js';
import { OperationTypeSchema } from './operations.js';

/** Any JSON value: the relay forwards unknown operation types' messages untouched. */
export const JsonValueSchema = z.unknown().describe('Any JSON value');

/** A required `message` field: any JSON value (including `null`), but present. */
export const MessageSchema = JsonValueSchema.refine((value) => value !== undefined, 'is required').describe(
  'The payload: any JSON value; known operation types require their documented fields',
);

export const ClientMessageIdSchema = z
  .string()
  .min(1, 'must not be empty')
  .max(CLIENT_MESSAGE_ID_MAX_LENGTH, `must be at most ${CLIENT_MESSAGE_ID_MAX_LENGTH} characters`)
  .describe('A sender-chosen id for one message, unique per sender (protocol v2)');

/**
 * The conversation a message belongs to, named by its sender (any operation type, v1 and v2): the
 * relay routes a cli's reply carrying it to the mpc that opened that conversation. 1 to 128
 * visible ASCII characters (no spaces).
 */
export const SessionIdSchema = z
  .string()
  .min(1, { message: 'must not be empty', abort: true })
  .max(SESSION_ID_MAX_LENGTH, { message: `must be at most ${SESSION_ID_MAX_LENGTH} characters`, abort: true })
  .regex(/^[\x21-\x7E]+$/, 'may only contain visible ASCII characters (no spaces)')
  .describe('The conversation this message belongs to; a reply carrying it goes to that conversation');

/** `{"action":"getConnectionId"}`: asks for the caller's connection id. */
export const GetConnectionIdFrameSchema = z
  .looseObject({ action: z.literal('getConnectionId') })
  .describe("Asks the relay for the caller's connection id");

/**
 * `{"action":"sendServer", ...}`: relays a message. From an mpc, `cliToMpc` (`{CLI_ID: MPC_ID}`,
 * exactly one entry whose value is the sender's own id) names the cli and opens (or continues) the
 * conversation of its key (`conversationKey`). From a cli, no `cliToMpc`: the relay answers the
 * mpc of the conversation the reply's key names, or without a key the mpc that last contacted it.
 */
export const SendServerFrameSchema = z
  .looseObject({
    action: z.literal('sendServer'),
    sourceId: PeerIdSchema.describe("The sender's own id; must match the authenticated connection"),
    cliToMpc: z
      .record(PeerIdSchema, PeerIdSchema)
      .refine((map) => Object.keys(map).length === 1, 'must name exactly one cli: {"CLI_ID": "MPC_ID"}')
      // The refinement is invisible to JSON Schema; say the same thing there.
      .meta({ minProperties: 1, maxProperties: 1 })
      .optional()
      .describe('From an mpc: {CLI_ID: MPC_ID} naming the cli to deliver to'),
    operationType: OperationTypeSchema,
    message: MessageSchema,
    sessionId: SessionIdSchema.optional(),
    clientMsgId: ClientMessageIdSchema.optional(),
  })
  .describe('Relays a message to the peer');

/** `{"action":"ack","messageIds":[...]}`: acknowledges delivered messages (protocol v2). */
export const AckFrameSchema = z
  .looseObject({
    action: z.literal('ack'),
    messageIds: z
      .array(z.string().min(1).max(CLIENT_MESSAGE_ID_MAX_LENGTH))
      .min(1, 'must name at least one message id')
      .max(MAX_ACK_IDS, `must name at most ${MAX_ACK_IDS} message ids`),
  })
  .describe('Acknowledges delivered messages by their relay message ids (protocol v2)');

/** `{"action":"ping"}`: application-level keepalive; the relay answers a pong frame. */
export const PingFrameSchema = z
  .looseObject({ action: z.literal('ping') })
  .describe('Application keepalive; answered with a pong frame');

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
