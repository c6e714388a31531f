/**
 * Received frames: decoded and validated (never thrown: a bad frame becomes a report), then routed
 * by kind to what the client does with it.
 */
import { decodeRelayFrame, type RelayFrame } from '@mpc-relay/protocol';
import type WebSocket from 'ws';
import type { BadFrameReport, Delivery, RelayErrorReport } from './events.js';
import type { SendResult } from './outbox.js';

export type Inbound =
  | { ok: true; text: string; frame: RelayFrame }
  | { ok: false; text?: string; report: BadFrameReport };

function cut(text: string, max = 1000): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

export function readFrame(data: WebSocket.RawData, isBinary: boolean): Inbound {
  const buffer = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
  if (isBinary) {
    return {
      ok: false,
      report: {
        raw: `<binary ${buffer.length} bytes>`,
        code: 'BINARY_FRAME',
        message: 'binary frames are not part of the protocol',
      },
    };
  }
  const text = buffer.toString('utf8');
  const decoded = decodeRelayFrame(text);
  if (decoded.ok) return { ok: true, text, frame: decoded.value };
  const { code, message, issues } = decoded.error;
  return { ok: false, text, report: { raw: cut(text), code, message, ...(issues ? { issues } : {}) } };
}

/** What the client does with each kind of frame. */
export interface InboundSink {
  connectionId(connectionId: string): void;
  /** `ackId`: a v2 delivery's messageId, to deduplicate and acknowledge. */
  delivery(delivery: Delivery, ackId?: string): void;
  pong(at: number): void;
  ackResult(ack: { clientMsgId: string; messageId: string; status: SendResult['status'] }): void;
  /** `clientMsgId`: the relay's error names one of our sends (v2). */
  relayError(report: RelayErrorReport, clientMsgId?: string): void;
}

export function routeFrame(frame: RelayFrame, raw: string, sink: InboundSink): void {
  switch (frame.kind) {
    case 'connectionId':
      sink.connectionId(frame.frame.connectionId);
      return;
    case 'cliDelivery':
    case 'mpcDelivery':
      sink.delivery({ ...frame.frame, raw });
      return;
    case 'v2Delivery': {
      const { operationType, from, to, message, sessionId, messageId, clientMsgId, sentAt } = frame.frame;
      sink.delivery(
        {
          operationType,
          from,
          ...(to === undefined ? {} : { to }),
          message,
          ...(sessionId === undefined ? {} : { sessionId }),
          messageId,
          ...(clientMsgId === undefined ? {} : { clientMsgId }),
          sentAt,
          raw,
        },
        messageId,
      );
      return;
    }
    case 'pong':
      sink.pong(frame.frame.pong);
      return;
    case 'ack':
      sink.ackResult(frame.frame.ack);
      return;
    case 'error': {
      const { code, message, issues, clientMsgId } = frame.frame.error;
      sink.relayError({ source: 'relay', code, message, ...(issues ? { issues } : {}), raw }, clientMsgId);
      return;
    }
    case 'gatewayError':
      sink.relayError({ source: 'gateway', message: frame.frame.message, raw });
      return;
  }
}
