import { decodeRelayFrame } from '@mpc-relay/protocol';
import { expect } from 'vitest';
import type { WebSocketResult } from '../../src/events.js';

/** Asserts a two-way answer is the protocol's error frame with `code`; returns the error. */
export function expectErrorFrame(result: WebSocketResult, code: string) {
  expect(result.statusCode).toBe(200);
  expect(result.body).toBeTypeOf('string');
  const decoded = decodeRelayFrame(result.body ?? '');
  if (!decoded.ok || decoded.value.kind !== 'error') throw new Error(`not an error frame: ${result.body}`);
  expect(decoded.value.frame.error.code).toBe(code);
  return decoded.value.frame.error;
}

/** The original demo's peers, as most tests name them. */
export const CLI = { type: 'cli', id: 'cli123' } as const;
export const MPC = { type: 'mpc', id: 'IgniterC56D' } as const;

export const partialSig = (mpcId: string, cliId: string, transactionId = 'tx-1') => ({
  action: 'sendServer',
  sourceId: mpcId,
  cliToMpc: { [cliId]: mpcId },
  operationType: 'PartialSig',
  message: { accountHash: 'acc', teamId: 'team', transactionId, partialSig: `ps-${transactionId}` },
});

export const fullSig = (cliId: string, transactionId = 'tx-1') => ({
  action: 'sendServer',
  sourceId: cliId,
  operationType: 'FullSig',
  message: {
    accountHash: 'acc',
    signatureR: 'r',
    signatureS: 's',
    signatureV: 'v',
    teamId: 'team',
    transactionId,
  },
});
