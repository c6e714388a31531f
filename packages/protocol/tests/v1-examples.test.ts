// The original demo's README example messages, verbatim (@mpc-relay/testing's fixtures/*.json): every client frame decodes to
// the right type, and the relay's encoders produce exactly the frames the original demo shows each peer.

import { compact, fixture, GET_CONNECTION_ID_FIXTURE, V1_EXAMPLES } from '@mpc-relay/testing';
import { describe, expect, it } from 'vitest';
import {
  decodeClientFrame,
  decodeRelayFrame,
  encodeCliDelivery,
  encodeConnectionId,
  encodeMpcDelivery,
  type SendServerFrame,
} from '../src/index.js';

function decodeSendServer(name: string): SendServerFrame {
  const decoded = decodeClientFrame(fixture(name));
  if (!decoded.ok) throw new Error(`${name}: ${decoded.error.message}`);
  if (decoded.value.action !== 'sendServer') throw new Error(`${name}: not sendServer`);
  return decoded.value;
}

describe('v1: getConnectionId', () => {
  it('decodes {"action":"getConnectionId"}', () => {
    const decoded = decodeClientFrame(fixture(GET_CONNECTION_ID_FIXTURE));
    expect(decoded).toEqual({ ok: true, value: { action: 'getConnectionId' } });
  });

  it('answers with a frame whose top-level connectionId holds the id', () => {
    const text = encodeConnectionId('WyHPAfymhcwCENw=');
    expect(text).toBe('{"connectionId":"WyHPAfymhcwCENw="}');
    expect(decodeRelayFrame(text)).toEqual({
      ok: true,
      value: { kind: 'connectionId', frame: { connectionId: 'WyHPAfymhcwCENw=' } },
    });
  });
});

describe('v1: every client frame decodes to its type, unchanged', () => {
  for (const [example, { sent }] of Object.entries(V1_EXAMPLES)) {
    it(`${example}: ${sent}`, () => {
      const frame = decodeSendServer(sent);
      expect(frame).toEqual(JSON.parse(fixture(sent)));
    });
  }

  it('mpc frames name the cli in cliToMpc; cli frames carry none', () => {
    expect(decodeSendServer(V1_EXAMPLES.wscatSigning.sent)).toMatchObject({
      sourceId: 'b61c9f9e-13b8-4c87-a750-16e1cfdabe9c',
      cliToMpc: { '6f3a8b0b-1f7f-4681-ae94-2b213f95f8a0': 'b61c9f9e-13b8-4c87-a750-16e1cfdabe9c' },
      operationType: 'signing',
      message: { txId: 'abc123', signature: '0xdeadbeef' },
    });
    expect(decodeSendServer(V1_EXAMPLES.wscatFullSig.sent).cliToMpc).toBeUndefined();
    expect(decodeSendServer(V1_EXAMPLES.realPartialSig.sent)).toMatchObject({
      sourceId: 'IgniterC56D',
      cliToMpc: { cli123: 'IgniterC56D' },
      operationType: 'PartialSig',
    });
    const fullSig = decodeSendServer(V1_EXAMPLES.realFullSig.sent);
    expect(fullSig.cliToMpc).toBeUndefined();
    expect(fullSig).toMatchObject({ sourceId: 'cli123', operationType: 'FullSig' });
  });
});

describe('v1: Real Interaction Example, relayed end to end by the encoders', () => {
  it('the mpc PartialSig reaches the cli as exactly {operationType, from, message}', () => {
    const sent = decodeSendServer(V1_EXAMPLES.realPartialSig.sent);
    const [cliId, mpcId] = Object.entries(sent.cliToMpc ?? {})[0] ?? [];
    expect([cliId, mpcId]).toEqual(['cli123', sent.sourceId]);
    const out = encodeCliDelivery({
      operationType: sent.operationType,
      from: sent.sourceId,
      message: sent.message,
    });
    expect(out).toBe(compact(fixture(V1_EXAMPLES.realPartialSig.received)));
  });

  it('the cli FullSig reaches the mpc it answers as exactly {operationType, from, to, message}', () => {
    // The relay remembered cli123 -> IgniterC56D from the PartialSig's cliToMpc.
    const mapping = decodeSendServer(V1_EXAMPLES.realPartialSig.sent).cliToMpc ?? {};
    const sent = decodeSendServer(V1_EXAMPLES.realFullSig.sent);
    const to = mapping[sent.sourceId];
    expect(to).toBe('IgniterC56D');
    const out = encodeMpcDelivery({
      operationType: sent.operationType,
      from: sent.sourceId,
      to: to ?? '',
      message: sent.message,
    });
    expect(out).toBe(compact(fixture(V1_EXAMPLES.realFullSig.received)));
  });
});

describe('v1: wscat walkthrough relay frames', () => {
  // The walkthrough mixes ids up (its frames say IgniterC56D / cli123 while the peers connected with
  // uuids; see design.md). The operation type and message come from the decoded client frame, the
  // ids from the frame the original demo shows, and the output must be that frame exactly.
  it('the mpc signing message reaches the cli as the original demo shows it', () => {
    const sent = decodeSendServer(V1_EXAMPLES.wscatSigning.sent);
    const shown = JSON.parse(fixture(V1_EXAMPLES.wscatSigning.received));
    const out = encodeCliDelivery({
      operationType: sent.operationType,
      from: shown.from,
      message: sent.message,
    });
    expect(out).toBe(compact(fixture(V1_EXAMPLES.wscatSigning.received)));
  });

  it('the cli fullSig answer reaches the mpc as the original demo shows it', () => {
    const sent = decodeSendServer(V1_EXAMPLES.wscatFullSig.sent);
    const shown = JSON.parse(fixture(V1_EXAMPLES.wscatFullSig.received));
    const out = encodeMpcDelivery({
      operationType: sent.operationType,
      from: shown.from,
      to: shown.to,
      message: sent.message,
    });
    expect(out).toBe(compact(fixture(V1_EXAMPLES.wscatFullSig.received)));
  });
});

describe('v1: decodeRelayFrame recognises every relay frame the original demo shows', () => {
  const expected = {
    wscatSigning: 'cliDelivery',
    wscatFullSig: 'mpcDelivery',
    realPartialSig: 'cliDelivery',
    realFullSig: 'mpcDelivery',
  } as const;
  for (const [example, { received }] of Object.entries(V1_EXAMPLES)) {
    it(`${example}: ${received}`, () => {
      const text = fixture(received);
      const kind = expected[example as keyof typeof expected];
      // Both as pretty-printed in the original demo and as compact JSON on the wire.
      for (const wire of [text, compact(text)]) {
        expect(decodeRelayFrame(wire)).toEqual({ ok: true, value: { kind, frame: JSON.parse(text) } });
      }
    });
  }

  it('client frames are not mistaken for relay frames', () => {
    // A sendServer frame has operationType, so it reads as a delivery only if it fits one: it does
    // not (unknown keys are allowed, but `from` is required).
    const decoded = decodeRelayFrame(fixture(V1_EXAMPLES.realFullSig.sent));
    expect(decoded.ok).toBe(false);
  });
});
