/**
 * The digest a co-signer signs for a PartialSig, and the FullSig/SignRefused wire conventions.
 *
 *   digest = SHA-256( UTF-8( "mpc-relay/single-key-cosigner/v1\n" + JSON.stringify([accountHash, teamId, transactionId, partialSig]) ) )
 *
 * The domain tag keeps these signatures from being valid for any other purpose; the JSON array
 * makes the encoding unambiguous (no field can spill into the next). Only the four v1 fields are
 * signed; extra fields of the PartialSig are not covered.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { utf8ToBytes } from '@noble/hashes/utils.js';

export const COSIGNER_DOMAIN = 'mpc-relay/single-key-cosigner/v1';

/** Operation type of the co-signer's answer (the original demo's). */
export const FULL_SIG_OPERATION = 'FullSig';

/** Operation type of the mpc's request (the original demo's). */
export const PARTIAL_SIG_OPERATION = 'PartialSig';

/**
 * Operation type a co-signer answers instead of FullSig when it refuses or fails:
 * `{"accountHash", "teamId", "transactionId", "code", "reason"}`. Not retried by the co-signer.
 */
export const SIGN_REFUSED_OPERATION = 'SignRefused';

export interface SignedFields {
  accountHash: string;
  teamId: string;
  transactionId: string;
  partialSig: string;
}

/** The exact text hashed (without the domain tag): useful for debugging and for other languages. */
export function canonicalSigningString(fields: SignedFields): string {
  return `${COSIGNER_DOMAIN}\n${JSON.stringify([fields.accountHash, fields.teamId, fields.transactionId, fields.partialSig])}`;
}

export function signingDigest(fields: SignedFields): Uint8Array {
  return sha256(utf8ToBytes(canonicalSigningString(fields)));
}
