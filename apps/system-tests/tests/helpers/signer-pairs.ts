import {
  attachCosigner,
  type CosignerHooks,
  type Delivery,
  RelayClient,
  type RelayClientOptions,
  type SignedFields,
  SingleKeyCosigner,
  verifyFullSig,
} from '@mpc-relay/signer';
import { DeliveryCounter } from './counter.js';

/** What a run of co-signing pairs counts at the applications (one per test). */
export interface SignerTally {
  cosigner: SingleKeyCosigner;
  partialAtCli: DeliveryCounter;
  fullAtMpc: DeliveryCounter;
  /** Every PartialSig sent, by transactionId (the test fills it in as it sends). */
  sent: Map<string, SignedFields>;
  /** FullSigs that are unknown or whose signature does not verify. */
  invalid: string[];
}

export function newSignerTally(): SignerTally {
  return {
    cosigner: SingleKeyCosigner.generate(),
    partialAtCli: new DeliveryCounter('PartialSig at cli'),
    fullAtMpc: new DeliveryCounter('FullSig at mpc'),
    sent: new Map(),
    invalid: [],
  };
}

/**
 * An mpc/cli pair of RelayClients (not connected yet): the cli counts every PartialSig and co-signs
 * it (attachCosigner + the tally's SingleKeyCosigner); the mpc counts every FullSig and verifies it
 * against the PartialSig that was sent.
 */
export function signerPair(
  options: Omit<RelayClientOptions, 'peer'>,
  ids: { cli: string; mpc: string },
  tally: SignerTally,
  hooks?: CosignerHooks,
): { cli: RelayClient; mpc: RelayClient } {
  const cli = new RelayClient({ ...options, peer: { type: 'cli', id: ids.cli } });
  const mpc = new RelayClient({ ...options, peer: { type: 'mpc', id: ids.mpc } });
  cli.on('message', (d: Delivery) => {
    if (d.operationType === 'PartialSig')
      tally.partialAtCli.add(String((d.message as SignedFields).transactionId));
  });
  attachCosigner(cli, tally.cosigner, hooks);
  mpc.on('message', (d: Delivery) => {
    if (d.operationType !== 'FullSig') return;
    const full = d.message as SignedFields & {
      signatureR: string;
      signatureS: string;
      signatureV: string;
    };
    tally.fullAtMpc.add(full.transactionId);
    const request = tally.sent.get(full.transactionId);
    if (!request || !verifyFullSig(request, full, tally.cosigner.publicKeyHex).ok)
      tally.invalid.push(full.transactionId);
  });
  return { cli, mpc };
}
