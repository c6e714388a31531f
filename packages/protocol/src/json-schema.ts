import * as z from 'zod';
import {
  AckFrameSchema,
  GetConnectionIdFrameSchema,
  PingFrameSchema,
  SendServerFrameSchema,
} from './client-frames.js';
import { ConnectParamsSchema } from './connect.js';
import {
  FullSigLowerMessageSchema,
  FullSigMessageSchema,
  KNOWN_OPERATIONS,
  PartialSigMessageSchema,
  SigningMessageSchema,
} from './operations.js';
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

/** Every frame of the wire contract by file name, for the JSON Schema files the build emits. */
export const JSON_SCHEMA_FRAMES: Record<string, z.ZodType> = {
  'connect-params': ConnectParamsSchema,
  'client.getConnectionId': GetConnectionIdFrameSchema,
  'client.sendServer': SendServerFrameSchema,
  'client.ack': AckFrameSchema,
  'client.ping': PingFrameSchema,
  'relay.connectionId': ConnectionIdFrameSchema,
  'relay.cliDelivery': CliDeliveryFrameSchema,
  'relay.mpcDelivery': MpcDeliveryFrameSchema,
  'relay.v2Delivery': V2DeliveryFrameSchema,
  'relay.ack': AckResultFrameSchema,
  'relay.pong': PongFrameSchema,
  'relay.error': ErrorFrameSchema,
  'relay.gatewayError': GatewayErrorFrameSchema,
  'message.PartialSig': PartialSigMessageSchema,
  'message.FullSig': FullSigMessageSchema,
  'message.signing': SigningMessageSchema,
  'message.fullSig': FullSigLowerMessageSchema,
};

/** Base of the `$id` of every emitted schema; the file name follows it. */
export const JSON_SCHEMA_ID_BASE = 'https://mpc-relay.dev/schemas/';

/** A JSON Schema document (draft 2020-12) as plain JSON. */
export type JsonSchemaDocument = Record<string, unknown>;

function toJsonSchema(schema: z.ZodType): JsonSchemaDocument {
  return z.toJSONSchema(schema, {
    target: 'draft-2020-12',
    unrepresentable: 'any',
    io: 'input',
  }) as JsonSchemaDocument;
}

/**
 * The JSON Schema document of one frame of JSON_SCHEMA_FRAMES (what `schemas/NAME.json` holds).
 * `client.sendServer` also requires, for each known operation type, its documented message fields
 * (an `allOf` of `if operationType is X then message matches X`), as `decodeClientFrame` does.
 */
export function buildJsonSchema(name: string): JsonSchemaDocument {
  const schema = JSON_SCHEMA_FRAMES[name];
  if (!schema) throw new Error(`no frame named ${name}; expected one of ${Object.keys(JSON_SCHEMA_FRAMES)}`);
  const document = toJsonSchema(schema);
  if (name === 'client.sendServer') {
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
