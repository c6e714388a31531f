import {
  AckFrameSchema,
  GetConnectionIdFrameSchema,
  PingFrameSchema,
  SendServerFrameSchema,
} from './client-frames.js';
import { ConnectParamsSchema } from './connect.js';
import { KNOWN_OPERATIONS, type KnownOperationType } from './operations.js';
import {
  AckResultFrameSchema,
  CliDeliveryFrameSchema,
  ConnectionIdFrameSchema,
  ErrorFrameSchema,
  GatewayErrorFrameSchema,
  MpcDeliveryFrameSchema,
  PongFrameSchema,
  V2DeliveryFrameSchema,
} from './relay-frames.js';
import * as z from './zod.js';

/**
 * The JSON Schema file (without `.json`) of each known operation type's message. File names are
 * lowercase kebab-case so that no two differ only by case (`FullSig` and `fullSig` would overwrite
 * each other on macOS and Windows).
 */
export const MESSAGE_SCHEMA_FILES: Record<KnownOperationType, string> = {
  PartialSig: 'message.partial-sig',
  FullSig: 'message.full-sig',
  signing: 'message.walkthrough-signing',
  fullSig: 'message.walkthrough-full-sig',
};

/** Every frame of the wire contract by file name (lowercase kebab-case), for the JSON Schema files the build emits. */
export const JSON_SCHEMA_FRAMES: Record<string, z.core.$ZodType> = {
  'connect-params': ConnectParamsSchema,
  'client.get-connection-id': GetConnectionIdFrameSchema,
  'client.send-server': SendServerFrameSchema,
  'client.ack': AckFrameSchema,
  'client.ping': PingFrameSchema,
  'relay.connection-id': ConnectionIdFrameSchema,
  'relay.cli-delivery': CliDeliveryFrameSchema,
  'relay.mpc-delivery': MpcDeliveryFrameSchema,
  'relay.v2-delivery': V2DeliveryFrameSchema,
  'relay.ack': AckResultFrameSchema,
  'relay.pong': PongFrameSchema,
  'relay.error': ErrorFrameSchema,
  'relay.gateway-error': GatewayErrorFrameSchema,
  ...Object.fromEntries(
    Object.entries(MESSAGE_SCHEMA_FILES).map(([type, file]) => [
      file,
      KNOWN_OPERATIONS[type as KnownOperationType],
    ]),
  ),
};

/** Base of the `$id` of every emitted schema; the file name follows it. */
export const JSON_SCHEMA_ID_BASE = 'https://mpc-relay.dev/schemas/';

/** A JSON Schema document (draft 2020-12) as plain JSON. */
export type JsonSchemaDocument = Record<string, unknown>;

function toJsonSchema(schema: z.core.$ZodType): JsonSchemaDocument {
  return z.toJSONSchema(schema, {
    target: 'draft-2020-12',
    unrepresentable: 'any',
    io: 'input',
  }) as JsonSchemaDocument;
}

/**
 * The JSON Schema document of one frame of JSON_SCHEMA_FRAMES (what `schemas/NAME.json` holds).
 * `client.send-server` also requires, for each known operation type, its documented message fields
 * (an `allOf` of `if operationType is X then message matches X`), as `decodeClientFrame` does.
 */
export function buildJsonSchema(name: string): JsonSchemaDocument {
  const schema = JSON_SCHEMA_FRAMES[name];
  if (!schema) throw new Error(`no frame named ${name}; expected one of ${Object.keys(JSON_SCHEMA_FRAMES)}`);
  const document = toJsonSchema(schema);
  if (name === 'client.send-server') {
    document.allOf = Object.entries(KNOWN_OPERATIONS).map(([operationType, messageSchema]) => {
      const { $schema: _ignored, ...message } = toJsonSchema(messageSchema);
      return {
        if: { properties: { operationType: { const: operationType } }, required: ['operationType'] },
        // biome-ignore lint/suspicious/noThenProperty: JSON Schema's if/then keyword
        then: { properties: { message } },
      };
    });
  }
  document.$id = `${JSON_SCHEMA_ID_BASE}${name}.json`;
  document.title ??= name;
  return document;
}

/** Every JSON Schema document by file name (without `.json`). */
export function buildJsonSchemas(): Record<string, JsonSchemaDocument> {
  return Object.fromEntries(Object.keys(JSON_SCHEMA_FRAMES).map((name) => [name, buildJsonSchema(name)]));
}
