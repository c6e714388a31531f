import type { z } from 'zod';
import {
  AckFrameSchema,
  GetConnectionIdFrameSchema,
  PingFrameSchema,
  SendServerFrameSchema,
} from './client-frames.js';
import { ConnectParamsSchema } from './connect.js';
import { FullSigMessageSchema, PartialSigMessageSchema, SigningMessageSchema } from './operations.js';
import {
  AckResultFrameSchema,
  CliDeliveryFrameSchema,
  ConnectionIdFrameSchema,
  ErrorFrameSchema,
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
  'message.PartialSig': PartialSigMessageSchema,
  'message.FullSig': FullSigMessageSchema,
  'message.signing': SigningMessageSchema,
};
