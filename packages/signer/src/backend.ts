/**
 * The signing backend interface: what the co-signer does with a PartialSig.
 *
 * It is shaped for a real MPC library: asynchronous (a threshold protocol takes rounds), told who
 * asked (the mpc id) and given the whole request, cancellable, and free to refuse with a reason
 * (policy, unknown account, a share it does not hold, a malformed partial signature). The result
 * carries the FullSig fields of the original demo (`signatureR`, `signatureS`, `signatureV`); the service
 * copies `accountHash`, `teamId` and `transactionId` from the request.
 */
import type { PartialSigMessage } from '@mpc-relay/protocol';

export interface SigningRequest {
  /** The mpc that sent the PartialSig (the relay's `from`, from its authenticated connection). */
  from: string;
  /** The PartialSig message: accountHash, teamId, transactionId, partialSig (+ any extra fields). */
  message: PartialSigMessage;
}

/** The signature fields of a FullSig, as strings (the wire format). */
export interface SignatureFields {
  signatureR: string;
  signatureS: string;
  signatureV: string;
}

export type SigningResult =
  | { ok: true; signature: SignatureFields }
  | {
      ok: false;
      /** A stable reason code, e.g. `POLICY`, `INVALID_REQUEST`, `BACKEND_FAILURE`. */
      code: string;
      /** A human reason, sent to the mpc: never put secrets in it. */
      reason: string;
    };

export interface SigningBackend {
  /** A short honest name, e.g. `single-key-cosigner (secp256k1 ECDSA)`. */
  readonly name: string;
  /** The public key (hex) the mpc side verifies against, when the scheme has one. */
  readonly publicKeyHex?: string;
  sign(request: SigningRequest, options?: { signal?: AbortSignal }): Promise<SigningResult>;
}
