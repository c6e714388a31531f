/**
 * Operation types of signing sessions (the signer library's MuSig2 backend, its fragments, its
 * abort frame). The relay forwards them like any other operation type (it does not validate their
 * messages); both parties validate what they receive with these schemas. Every message of a
 * session carries the `sessionId` envelope field.
 */

import { OperationTypeSchema } from './operations.js';
import * as z from './zod.js';
import { described } from './zod.js';

const hex = (bytes: number, what: string) =>
  z
    .string()
    .check(
      z.regex(
        new RegExp(`^[0-9a-f]{${bytes * 2}}$`),
        `must be ${bytes * 2} lowercase hexadecimal characters`,
      ),
    )
    .apply(described, what);

/** A payload sealed end to end between the two parties of a key setup (see the signer's README). */
export const SealedBodySchema = /* @__PURE__ */ z.describedSchema(
  'A sealed payload: only the two parties can read it',
  () =>
    z.strictObject({
      v: z.literal(1),
      alg: z.literal('X25519-HKDF-SHA256-XChaCha20-Poly1305'),
      nonce: z.base64().apply(described, '24-byte XChaCha20 nonce, base64'),
      ct: z.base64().apply(described, 'ciphertext with its 16-byte Poly1305 tag, base64'),
      z: z
        .optional(z.literal('br'))
        .apply(described, 'the plaintext was brotli-compressed before encryption'),
    }),
);

/** `KeySetup`: each party's individual public key (mpc first, the cli answers). */
export const KeySetupMessageSchema = /* @__PURE__ */ z.describedSchema(
  'KeySetup: MuSig2 key setup, individual public keys',
  () =>
    z.looseObject({
      scheme: z.literal('BIP-340/MuSig2'),
      publicKey: hex(33, 'the sender’s individual public key, compressed SEC1'),
      sealPublicKey: z.optional(hex(32, 'the sender’s X25519 key for sealed payloads (opt-in)')),
      aggregatePublicKey: z.optional(hex(32, 'the cli’s answer: the x-only Taproot output key it derived')),
      internalKey: z.optional(hex(32, 'the cli’s answer: the MuSig2 aggregate before the Taproot tweak')),
      taprootAddress: z.optional(z.string()),
    }),
);

const ids = { accountHash: z.string(), teamId: z.string(), transactionId: z.string() };

/** `SignRequest`: the mpc opens a signing session for a digest. */
export const SignRequestMessageSchema = /* @__PURE__ */ z.describedSchema(
  'SignRequest: opens a MuSig2 signing session',
  () =>
    z.looseObject({
      scheme: z.literal('BIP-340/MuSig2'),
      ...ids,
      aggregatePublicKey: hex(32, 'the key to sign under (x-only Taproot output key of the pair)'),
      messageDigest: hex(32, 'the 32 bytes to sign'),
    }),
);

/** `MuSig2Nonce`: the cli's fresh public nonce for the session (66 bytes: R1 || R2, compressed). */
export const Musig2NonceMessageSchema = /* @__PURE__ */ z.describedSchema(
  'MuSig2Nonce: the cli’s public nonce',
  () =>
    z.looseObject({
      scheme: z.literal('BIP-340/MuSig2'),
      ...ids,
      publicNonce: hex(66, 'the cli’s public nonce'),
    }),
);

/** MuSig2's `PartialSig` (the original operation type, with the mpc's public nonce). */
export const Musig2PartialSigMessageSchema = /* @__PURE__ */ z.describedSchema(
  'PartialSig (MuSig2): the mpc’s partial signature and public nonce',
  () =>
    z.looseObject({
      ...ids,
      partialSig: hex(32, 'the mpc’s partial signature'),
      publicNonce: hex(66, 'the mpc’s public nonce'),
      scheme: z.literal('BIP-340/MuSig2'),
    }),
);

/** MuSig2's `FullSig`: a BIP-340 signature, `signatureR` || `signatureS`, under `aggregatePublicKey`. */
export const Musig2FullSigMessageSchema = /* @__PURE__ */ z.describedSchema(
  'FullSig (MuSig2): the BIP-340 signature',
  () =>
    z.looseObject({
      ...ids,
      signatureR: hex(32, 'x coordinate of R'),
      signatureS: hex(32, 's'),
      signatureV: z.literal('0').apply(described, 'BIP-340: R has even y by definition; no recovery id'),
      scheme: z.literal('BIP-340/MuSig2'),
      aggregatePublicKey: hex(32, 'the x-only key the signature verifies under'),
      messageDigest: hex(32, 'the 32 bytes signed'),
    }),
);

/** `SignRefused`: a co-signer refuses or aborts a signing session (never retried). */
export const SignRefusedMessageSchema = /* @__PURE__ */ z.describedSchema(
  'SignRefused: the co-signer refuses (or aborts) a request',
  () =>
    z.looseObject({
      accountHash: z.optional(z.string()),
      teamId: z.optional(z.string()),
      transactionId: z.optional(z.string()),
      code: z.string().check(z.minLength(1)),
      reason: z.string(),
    }),
);

/** `SessionAbort`: a party aborts a session of any protocol; the session is never resumed. */
export const SessionAbortMessageSchema = /* @__PURE__ */ z.describedSchema(
  'SessionAbort: the session is aborted',
  () =>
    z.looseObject({
      code: z.string().check(z.minLength(1)),
      reason: z.string(),
      teamId: z.optional(z.string()),
    }),
);

export const FRAGMENT_OPERATION = 'Fragment';
/** Most fragments in one set (1 MiB / ~22 KB per fragment is about 48). */
export const MAX_FRAGMENT_COUNT = 4096;

/** `Fragment`: one piece of a message too large for one frame. */
export const FragmentMessageSchema = /* @__PURE__ */ z.describedSchema(
  'Fragment: one piece of a large message, reassembled by the receiver',
  () =>
    z
      .strictObject({
        fragment: z.strictObject({
          id: z.string().check(z.regex(/^[0-9a-f]{32}$/, 'must be 32 lowercase hexadecimal characters')),
          index: z.number().check(z.int(), z.nonnegative()),
          count: z.number().check(z.int(), z.gte(1), z.lte(MAX_FRAGMENT_COUNT)),
          size: z
            .number()
            .check(z.int(), z.nonnegative())
            .apply(described, 'bytes of the whole, as split (after compression)'),
          originalSize: z
            .optional(z.number().check(z.int(), z.nonnegative()))
            .apply(described, 'bytes before compression'),
          sha256: hex(32, 'SHA-256 of the whole, as split'),
          encoding: z.enum(['identity', 'br']),
          operationType: OperationTypeSchema.apply(described, 'the operation type of the whole message'),
        }),
        teamId: z.optional(z.string()),
        data: z.base64().apply(described, 'this fragment’s bytes, base64'),
      })
      .check(
        z.refine((value) => value.fragment.index < value.fragment.count, {
          message: 'index must be below count',
          path: ['fragment', 'index'],
        }),
      ),
);

export const SIGNING_OPERATIONS = {
  KeySetup: KeySetupMessageSchema,
  SignRequest: SignRequestMessageSchema,
  MuSig2Nonce: Musig2NonceMessageSchema,
  SignRefused: SignRefusedMessageSchema,
  SessionAbort: SessionAbortMessageSchema,
  Fragment: FragmentMessageSchema,
} as const;

export type SealedBody = z.infer<typeof SealedBodySchema>;
export type KeySetupMessage = z.infer<typeof KeySetupMessageSchema>;
export type SignRequestMessage = z.infer<typeof SignRequestMessageSchema>;
export type Musig2NonceMessage = z.infer<typeof Musig2NonceMessageSchema>;
export type Musig2PartialSigMessage = z.infer<typeof Musig2PartialSigMessageSchema>;
export type Musig2FullSigMessage = z.infer<typeof Musig2FullSigMessageSchema>;
export type SignRefusedMessage = z.infer<typeof SignRefusedMessageSchema>;
export type SessionAbortMessage = z.infer<typeof SessionAbortMessageSchema>;
export type FragmentMessage = z.infer<typeof FragmentMessageSchema>;
