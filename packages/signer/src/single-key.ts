/**
 * SingleKeyCosigner: a co-signer holding ONE secp256k1 private key. It is not a threshold or MPC
 * scheme: it does not combine the mpc's partial signature with a key share. It signs the documented
 * digest of the PartialSig request (see digest.ts) with a standard recoverable ECDSA signature
 * (RFC 6979 deterministic nonce, low-S), so the mpc side can verify exactly who co-signed what.
 * It stands in for a real MPC library behind the SigningBackend interface.
 *
 * Wire format of the FullSig fields:
 * - `signatureR`, `signatureS`: 64 lowercase hex characters each (32 bytes, big-endian, no `0x`);
 * - `signatureV`: the recovery id, `"0"` or `"1"` (not Ethereum's 27/28; verify accepts both).
 * The public key is printed and passed around as compressed SEC1 hex (66 characters, 02/03...).
 */
import { inspect } from 'node:util';
import { PartialSigMessageSchema } from '@mpc-relay/protocol';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import type { SignatureFields, SigningBackend, SigningRequest, SigningResult } from './backend.js';
import { type SignedFields, signingDigest } from './digest.js';
import { SigningKeyError } from './errors.js';

const HEX_KEY = /^(0x)?[0-9a-fA-F]{64}$/;

/** Parses a 32-byte private key from hex (`0x` optional, surrounding whitespace ignored). */
export function parseSecretKeyHex(text: string): Uint8Array {
  const trimmed = text.trim();
  if (!HEX_KEY.test(trimmed)) {
    throw new SigningKeyError(
      'the signing key must be 64 hexadecimal characters (32 bytes), optionally 0x-prefixed',
    );
  }
  const bytes = hexToBytes(trimmed.replace(/^0x/, ''));
  if (!secp256k1.utils.isValidSecretKey(bytes)) {
    throw new SigningKeyError(
      'the signing key is not a valid secp256k1 private key (zero or >= the curve order)',
    );
  }
  return bytes;
}

export class SingleKeyCosigner implements SigningBackend {
  readonly name = 'single-key-cosigner (one secp256k1 key, recoverable ECDSA; not a threshold scheme)';
  readonly publicKeyHex: string;
  readonly #secretKey: Uint8Array;

  constructor(secretKey: Uint8Array) {
    if (!secp256k1.utils.isValidSecretKey(secretKey)) {
      throw new SigningKeyError('the signing key is not a valid secp256k1 private key');
    }
    this.#secretKey = Uint8Array.from(secretKey);
    this.publicKeyHex = bytesToHex(secp256k1.getPublicKey(this.#secretKey, true));
  }

  static fromHex(hex: string): SingleKeyCosigner {
    return new SingleKeyCosigner(parseSecretKeyHex(hex));
  }

  /** A fresh random key (for demos and tests; nothing is written anywhere). */
  static generate(): SingleKeyCosigner {
    return new SingleKeyCosigner(secp256k1.utils.randomSecretKey());
  }

  /** Signs the four v1 fields synchronously. */
  signFields(fields: SignedFields): SignatureFields {
    const digest = signingDigest(fields);
    const signature = secp256k1.Signature.fromBytes(
      secp256k1.sign(digest, this.#secretKey, { prehash: false, lowS: true, format: 'recovered' }),
      'recovered',
    );
    return {
      signatureR: signature.r.toString(16).padStart(64, '0'),
      signatureS: signature.s.toString(16).padStart(64, '0'),
      signatureV: String(signature.recovery),
    };
  }

  async sign(request: SigningRequest): Promise<SigningResult> {
    const parsed = PartialSigMessageSchema.safeParse(request.message);
    if (!parsed.success) {
      const fields = parsed.error.issues.map((issue) => issue.path.join('.') || '(root)').join(', ');
      return {
        ok: false,
        code: 'INVALID_REQUEST',
        reason: `PartialSig is missing or has invalid fields: ${fields}`,
      };
    }
    return { ok: true, signature: this.signFields(parsed.data) };
  }

  // The private key never leaves this object: not in JSON, not in console.log / util.inspect.
  toJSON(): { name: string; publicKeyHex: string } {
    return { name: this.name, publicKeyHex: this.publicKeyHex };
  }

  [inspect.custom](): string {
    return `SingleKeyCosigner { publicKeyHex: '${this.publicKeyHex}', secretKey: [redacted] }`;
  }

  toString(): string {
    return `SingleKeyCosigner(${this.publicKeyHex})`;
  }
}

export type VerifyResult = { ok: true; publicKeyHex: string } | { ok: false; reason: string };

/** What a FullSig must carry to be verified. */
export interface FullSigFields extends SignatureFields {
  accountHash?: string;
  teamId?: string;
  transactionId?: string;
}

const SCALAR_HEX = /^(0x)?[0-9a-fA-F]{1,64}$/;

function parseScalar(name: string, value: unknown): bigint | string {
  if (typeof value !== 'string' || !SCALAR_HEX.test(value))
    return `${name} must be hexadecimal (at most 64 digits)`;
  return BigInt(`0x${value.replace(/^0x/, '')}`);
}

/**
 * Recovers the signer's public key (compressed hex) from a FullSig and the PartialSig it answers,
 * after checking that the FullSig names the same account, team and transaction. Never throws.
 */
export function recoverFullSigSigner(partial: SignedFields, fullSig: FullSigFields): VerifyResult {
  for (const field of ['accountHash', 'teamId', 'transactionId'] as const) {
    if (fullSig[field] !== partial[field]) {
      return {
        ok: false,
        reason: `FullSig ${field} ${JSON.stringify(fullSig[field])} does not match the PartialSig`,
      };
    }
  }
  const r = parseScalar('signatureR', fullSig.signatureR);
  if (typeof r === 'string') return { ok: false, reason: r };
  const s = parseScalar('signatureS', fullSig.signatureS);
  if (typeof s === 'string') return { ok: false, reason: s };
  const v = Number(fullSig.signatureV);
  const recovery = v === 27 || v === 28 ? v - 27 : v;
  if (
    typeof fullSig.signatureV !== 'string' ||
    !/^\d+$/.test(fullSig.signatureV) ||
    (recovery !== 0 && recovery !== 1)
  ) {
    return { ok: false, reason: 'signatureV must be the recovery id "0" or "1" (or 27/28)' };
  }
  try {
    const signature = new secp256k1.Signature(r, s, recovery);
    if (signature.hasHighS()) return { ok: false, reason: 'signature is not low-S (malleable form refused)' };
    const point = signature.recoverPublicKey(signingDigest(partial));
    return { ok: true, publicKeyHex: point.toHex(true) };
  } catch (error) {
    return { ok: false, reason: `invalid signature: ${(error as Error).message}` };
  }
}

/** Normalises a public key given as compressed or uncompressed SEC1 hex to compressed hex. */
export function normalizePublicKeyHex(hex: string): string {
  try {
    return secp256k1.Point.fromHex(hex.trim().replace(/^0x/, '')).toHex(true);
  } catch {
    throw new SigningKeyError('the public key must be SEC1 hex (66 or 130 characters, 02/03/04...)');
  }
}

/**
 * Verifies a FullSig against the PartialSig it answers and the expected signer public key
 * (compressed or uncompressed hex): same account/team/transaction, a valid low-S ECDSA signature of
 * the documented digest, by that key. Never throws.
 */
export function verifyFullSig(
  partial: SignedFields,
  fullSig: FullSigFields,
  publicKeyHex: string,
): VerifyResult {
  let expected: string;
  try {
    expected = normalizePublicKeyHex(publicKeyHex);
  } catch (error) {
    return { ok: false, reason: (error as Error).message };
  }
  const recovered = recoverFullSigSigner(partial, fullSig);
  if (!recovered.ok) return recovered;
  const r = BigInt(`0x${fullSig.signatureR.replace(/^0x/, '')}`);
  const s = BigInt(`0x${fullSig.signatureS.replace(/^0x/, '')}`);
  const compact = new secp256k1.Signature(r, s).toBytes('compact');
  const valid = secp256k1.verify(compact, signingDigest(partial), hexToBytes(expected), { prehash: false });
  if (!valid || recovered.publicKeyHex !== expected) {
    return {
      ok: false,
      reason: `signature is not by ${expected} (it recovers to ${recovered.publicKeyHex})`,
    };
  }
  return { ok: true, publicKeyHex: expected };
}
