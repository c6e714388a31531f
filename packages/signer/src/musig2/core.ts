/**
 * MuSig2 (BIP-327) for two parties, on @scure/btc-signer's musig2 module: key aggregation with the
 * BIP-86 Taproot tweak (no script tree), the documented message digest, nonce generation, partial
 * signing and verification, aggregation. The result is a BIP-340 Schnorr signature that verifies
 * under the Taproot output key (`aggregatePublicKey`), the key of the pair's Taproot address.
 */
import { schnorr } from '@noble/curves/secp256k1.js';
import { bytesToHex, hexToBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import * as musig2 from '@scure/btc-signer/musig2.js';
import { p2tr } from '@scure/btc-signer/payment.js';
import { NETWORK, TEST_NETWORK } from '@scure/btc-signer/utils.js';

/** The `scheme` field of MuSig2 messages and FullSigs. */
export const MUSIG2_SCHEME = 'BIP-340/MuSig2';
/** BIP-340 tag of the documented message digest. */
export const MUSIG2_DIGEST_TAG = 'mpc-relay/musig2/v1';
/**
 * `signatureV` of a BIP-340 signature: R always has an even y coordinate (BIP-340 picks it so),
 * so its parity is 0 by definition; there is no recovery id.
 */
export const SCHNORR_SIGNATURE_V = '0';

const HEX = /^[0-9a-f]*$/;

/** Lowercase hex of exactly `bytes` bytes (no 0x), or throws a message naming the field. */
export function hexField(value: unknown, bytes: number, name: string): Uint8Array {
  if (typeof value !== 'string' || value.length !== bytes * 2 || !HEX.test(value)) {
    throw new TypeError(`${name} must be ${bytes * 2} lowercase hexadecimal characters`);
  }
  return hexToBytes(value);
}

/**
 * The digest a MuSig2 signature signs for a request:
 *   taggedHash("mpc-relay/musig2/v1", UTF-8(JSON.stringify([accountHash, teamId, transactionId])))
 * with BIP-340's taggedHash(tag, m) = SHA-256(SHA-256(tag) || SHA-256(tag) || m).
 */
export function musig2Digest(fields: {
  accountHash: string;
  teamId: string;
  transactionId: string;
}): Uint8Array {
  return schnorr.utils.taggedHash(
    MUSIG2_DIGEST_TAG,
    utf8ToBytes(JSON.stringify([fields.accountHash, fields.teamId, fields.transactionId])),
  );
}

export interface AggregateKey {
  /** Both individual keys (33-byte compressed), sorted as BIP-327's KeySort does. */
  sortedKeys: Uint8Array[];
  /** KeyAgg's x-only aggregate, before the Taproot tweak (the Taproot internal key). */
  internalKey: Uint8Array;
  /** The BIP-86 tweak: taggedHash("TapTweak", internalKey). */
  tweak: Uint8Array;
  /** The x-only Taproot output key: what the signature verifies under. */
  aggregatePublicKey: Uint8Array;
  /** The pair's Taproot address (bech32m). */
  taprootAddress: string;
}

export type BitcoinNetwork = 'mainnet' | 'testnet';

/** Derives the pair's aggregate key and Taproot address from both compressed public keys. */
export function aggregateKey(
  keyA: Uint8Array,
  keyB: Uint8Array,
  network: BitcoinNetwork = 'mainnet',
): AggregateKey {
  if (bytesToHex(keyA) === bytesToHex(keyB)) throw new Error('both parties have the same public key');
  const sortedKeys = musig2.sortKeys([keyA, keyB]);
  const internalKey = musig2.keyAggExport(musig2.keyAggregate(sortedKeys));
  const tweak = schnorr.utils.taggedHash('TapTweak', internalKey);
  const tweaked = musig2.keyAggExport(musig2.keyAggregate(sortedKeys, [tweak], [true]));
  const payment = p2tr(internalKey, undefined, network === 'mainnet' ? NETWORK : TEST_NETWORK);
  if (bytesToHex(payment.tweakedPubkey) !== bytesToHex(tweaked)) {
    throw new Error('MuSig2 tweaked key and Taproot output key differ');
  }
  return {
    sortedKeys,
    internalKey,
    tweak,
    aggregatePublicKey: tweaked,
    taprootAddress: payment.address as string,
  };
}

export function individualPublicKey(secretKey: Uint8Array): Uint8Array {
  return musig2.IndividualPubkey(secretKey);
}

export function randomSecretKey(): Uint8Array {
  return schnorr.utils.randomSecretKey();
}

/** A fresh nonce pair for one signature (BIP-327 NonceGen with every optional input given). */
export function freshNonces(
  publicKey: Uint8Array,
  secretKey: Uint8Array,
  key: AggregateKey,
  digest: Uint8Array,
  sessionId: string,
): musig2.Nonces {
  return musig2.nonceGen(publicKey, secretKey, key.aggregatePublicKey, digest, utf8ToBytes(sessionId));
}

/** One signature's MuSig2 session: both public nonces known. */
export class Musig2Signing {
  readonly #session: musig2.Session;
  readonly #nonces: Uint8Array[];
  readonly #key: AggregateKey;

  constructor(key: AggregateKey, digest: Uint8Array, nonceByKey: Map<string, Uint8Array>) {
    this.#key = key;
    this.#nonces = key.sortedKeys.map((publicKey) => {
      const nonce = nonceByKey.get(bytesToHex(publicKey));
      if (!nonce) throw new Error('a public nonce is missing');
      return nonce;
    });
    this.#session = new musig2.Session(
      musig2.nonceAggregate(this.#nonces),
      key.sortedKeys,
      digest,
      [key.tweak],
      [true],
    );
  }

  indexOf(publicKey: Uint8Array): number {
    const index = this.#key.sortedKeys.findIndex((key) => bytesToHex(key) === bytesToHex(publicKey));
    if (index < 0) throw new Error('not a key of this pair');
    return index;
  }

  /** Signs, consuming the secret nonce: @scure zeroes it, and we zero the whole buffer too. */
  sign(secretNonce: Uint8Array, secretKey: Uint8Array): Uint8Array {
    try {
      return this.#session.sign(secretNonce, secretKey);
    } finally {
      secretNonce.fill(0);
    }
  }

  verifyPartial(partialSig: Uint8Array, signerPublicKey: Uint8Array): boolean {
    try {
      return this.#session.partialSigVerify(partialSig, this.#nonces, this.indexOf(signerPublicKey));
    } catch {
      return false;
    }
  }

  /** The 64-byte BIP-340 signature from both partial signatures. */
  aggregate(partials: Map<string, Uint8Array>): Uint8Array {
    return this.#session.partialSigAgg(
      this.#key.sortedKeys.map((publicKey) => {
        const partial = partials.get(bytesToHex(publicKey));
        if (!partial) throw new Error('a partial signature is missing');
        return partial;
      }),
    );
  }
}

/** BIP-340 verification of a 64-byte signature (R.x || s) of `digest` under an x-only key. */
export function verifySchnorr(signature: Uint8Array, digest: Uint8Array, xOnlyKey: Uint8Array): boolean {
  try {
    return schnorr.verify(signature, digest, xOnlyKey);
  } catch {
    return false;
  }
}
