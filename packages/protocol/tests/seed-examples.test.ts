import { describe, expect, it } from 'vitest';
import { decodeClientFrame, encodeCliDelivery, encodeMpcDelivery } from '../src/index.js';

// The seed's "Real Interaction Example", verbatim.
const partialSigFromMpc = `{
  "action": "sendServer",
  "sourceId": "IgniterC56D",
  "cliToMpc": { "cli123": "IgniterC56D" },
  "operationType": "PartialSig",
  "message": {
    "accountHash": "accountHash",
    "teamId": "teamId",
    "transactionId": "transactionId",
    "partialSig": "partialSig"
  }
}`;
const partialSigAtCli = `{
  "operationType": "PartialSig",
  "from": "IgniterC56D",
  "message": {
    "accountHash": "accountHash",
    "teamId": "teamId",
    "transactionId": "transactionId",
    "partialSig": "partialSig"
  }
}`;
const fullSigFromCli = `{
  "action": "sendServer",
  "sourceId": "cli123",
  "operationType": "FullSig",
  "message": {
    "accountHash": "accountHash",
    "signatureR": "r",
    "signatureS": "s",
    "signatureV": "v",
    "teamId": "teamId",
    "transactionId": "transactionId"
  }
}`;
const fullSigAtMpc = `{
  "operationType": "FullSig",
  "from": "cli123",
  "to": "IgniterC56D",
  "message": {
    "accountHash": "accountHash",
    "signatureR": "r",
    "signatureS": "s",
    "signatureV": "v",
    "teamId": "teamId",
    "transactionId": "transactionId"
  }
}`;

describe('seed Real Interaction Example', () => {
  it('decodes the mpc PartialSig and re-encodes the exact frame the cli receives', () => {
    const decoded = decodeClientFrame(partialSigFromMpc);
    expect(decoded.ok).toBe(true);
    if (!decoded.ok || decoded.value.action !== 'sendServer') throw new Error('not sendServer');
    expect(decoded.value.cliToMpc).toEqual({ cli123: 'IgniterC56D' });
    const out = encodeCliDelivery({
      operationType: decoded.value.operationType,
      from: 'IgniterC56D',
      message: decoded.value.message,
    });
    expect(out).toBe(JSON.stringify(JSON.parse(partialSigAtCli)));
  });

  it('decodes the cli FullSig and re-encodes the exact frame the mpc receives', () => {
    const decoded = decodeClientFrame(fullSigFromCli);
    if (!decoded.ok || decoded.value.action !== 'sendServer') throw new Error('not sendServer');
    expect(decoded.value.cliToMpc).toBeUndefined();
    const out = encodeMpcDelivery({
      operationType: decoded.value.operationType,
      from: 'cli123',
      to: 'IgniterC56D',
      message: decoded.value.message,
    });
    expect(out).toBe(JSON.stringify(JSON.parse(fullSigAtMpc)));
  });
});
