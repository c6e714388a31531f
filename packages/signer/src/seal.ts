/**
 * Sealed payloads between the two parties of a key setup: X25519 key agreement, HKDF-SHA256 bound
 * to the key setup's transcript, XChaCha20-Poly1305 with a random 192-bit nonce per message. The
 * fields the relay routes on stay readable and are authenticated as associated data, so a sealed
 * body cannot be moved to another operation type, session, team or direction.
 */
import { brotliCompressSync, brotliDecompressSync, constants } from 'node:zlib';
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { randomBytes } from '@noble/ciphers/utils.js';
import { x25519 } from '@noble/curves/ed25519.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';

export const SEAL_ALGORITHM = 'X25519-HKDF-SHA256-XChaCha20-Poly1305';
const SEAL_DOMAIN = 'mpc-relay/seal/v1';

export interface SealKeyPair {
  secretKey: Uint8Array;
  publicKey: Uint8Array;
}

export function newSealKeyPair(): SealKeyPair {
  const secretKey = x25519.utils.randomSecretKey();
  return { secretKey, publicKey: x25519.getPublicKey(secretKey) };
}

export function sealPublicKeyOf(secretKey: Uint8Array): Uint8Array {
  return x25519.getPublicKey(secretKey);
}

/** What a sealed body is bound to besides its keys: the readable routing fields. */
export interface SealContext {
  operationType: string;
  sessionId: string | undefined;
  /** The sender's and the receiver's peer ids. */
  from: string;
  to: string;
  teamId: string | undefined;
}

/** The wire form inside a message: `{"sealed": {v, alg, nonce, ct, z?}}` (base64). */
export interface SealedBody {
  v: 1;
  alg: typeof SEAL_ALGORITHM;
  nonce: string;
  ct: string;
  /** `br`: the plaintext was brotli-compressed before encryption. */
  z?: 'br';
}

export class SealError extends Error {
  readonly code = 'SEAL_INVALID';
}

function aad(context: SealContext): Uint8Array {
  return utf8ToBytes(
    JSON.stringify([
      SEAL_DOMAIN,
      context.operationType,
      context.sessionId ?? null,
      context.from,
      context.to,
      context.teamId ?? null,
    ]),
  );
}

/**
 * One pair's sealing keys. `binding` is what the key setup agreed (both parties compute the same
 * bytes: e.g. the aggregate key and every public key exchanged); a key from another key setup
 * derives other keys, so its messages do not open.
 */
export class SealChannel {
  readonly #sendKey: Uint8Array;
  readonly #receiveKey: Uint8Array;
  readonly #selfId: string;
  readonly #peerId: string;
  readonly #compress: boolean;

  constructor(options: {
    ownSecretKey: Uint8Array;
    peerPublicKey: Uint8Array;
    selfId: string;
    peerId: string;
    binding: Uint8Array;
    /** Brotli before encryption when it makes the body smaller (default true). */
    compress?: boolean;
  }) {
    const shared = x25519.getSharedSecret(options.ownSecretKey, options.peerPublicKey);
    const salt = sha256(options.binding);
    const key = (from: string, to: string) =>
      hkdf(sha256, shared, salt, utf8ToBytes(`${SEAL_DOMAIN}\n${JSON.stringify([from, to])}`), 32);
    this.#sendKey = key(options.selfId, options.peerId);
    this.#receiveKey = key(options.peerId, options.selfId);
    shared.fill(0);
    this.#selfId = options.selfId;
    this.#peerId = options.peerId;
    this.#compress = options.compress ?? true;
  }

  /** Seals a JSON value sent to the peer. */
  seal(value: unknown, context: Omit<SealContext, 'from' | 'to'>): SealedBody {
    let plaintext: Uint8Array = utf8ToBytes(JSON.stringify(value));
    let z: 'br' | undefined;
    if (this.#compress && plaintext.length > 1024) {
      const packed = brotliCompressSync(plaintext, {
        params: { [constants.BROTLI_PARAM_QUALITY]: 4, [constants.BROTLI_PARAM_SIZE_HINT]: plaintext.length },
      });
      if (packed.length < plaintext.length) {
        plaintext = packed;
        z = 'br';
      }
    }
    const nonce = randomBytes(24);
    const ct = xchacha20poly1305(
      this.#sendKey,
      nonce,
      aad({ ...context, from: this.#selfId, to: this.#peerId }),
    ).encrypt(plaintext);
    return {
      v: 1,
      alg: SEAL_ALGORITHM,
      nonce: Buffer.from(nonce).toString('base64'),
      ct: Buffer.from(ct).toString('base64'),
      ...(z ? { z } : {}),
    };
  }

  /** Opens a body the peer sealed; throws SealError when it was altered, moved or not sealed by the peer. */
  open(sealed: unknown, context: Omit<SealContext, 'from' | 'to'>, maxBytes = 16 * 1024 * 1024): unknown {
    if (sealed === null || typeof sealed !== 'object') throw new SealError('not a sealed body');
    const body = sealed as Partial<SealedBody>;
    if (
      body.v !== 1 ||
      body.alg !== SEAL_ALGORITHM ||
      typeof body.nonce !== 'string' ||
      typeof body.ct !== 'string'
    ) {
      throw new SealError(`sealed body must be {v: 1, alg: "${SEAL_ALGORITHM}", nonce, ct}`);
    }
    const nonce = Buffer.from(body.nonce, 'base64');
    if (nonce.length !== 24) throw new SealError('sealed nonce must be 24 bytes');
    let plaintext: Uint8Array;
    try {
      plaintext = xchacha20poly1305(
        this.#receiveKey,
        nonce,
        aad({ ...context, from: this.#peerId, to: this.#selfId }),
      ).decrypt(Buffer.from(body.ct, 'base64'));
    } catch {
      throw new SealError('sealed body does not authenticate (altered, moved, or not from the peer)');
    }
    if (body.z === 'br') {
      try {
        plaintext = brotliDecompressSync(plaintext, { maxOutputLength: maxBytes });
      } catch {
        throw new SealError('sealed body does not decompress within the size limit');
      }
    }
    try {
      return JSON.parse(Buffer.from(plaintext).toString('utf8'));
    } catch {
      throw new SealError('sealed body is not JSON');
    }
  }
}

/** The bytes a key setup binds its sealing keys to: every public key exchanged and the aggregate. */
export function keySetupBinding(parts: {
  aggregatePublicKey: Uint8Array;
  publicKeys: Uint8Array[];
  sealPublicKeys: Uint8Array[];
}): Uint8Array {
  const sorted = (keys: Uint8Array[]) => keys.map(bytesToHex).sort();
  return utf8ToBytes(
    JSON.stringify([
      SEAL_DOMAIN,
      bytesToHex(parts.aggregatePublicKey),
      sorted(parts.publicKeys),
      sorted(parts.sealPublicKeys),
    ]),
  );
}
