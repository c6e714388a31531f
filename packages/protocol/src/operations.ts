import { OPERATION_TYPE_MAX_LENGTH } from './limits.js';
import * as z from './zod.js';
import { described } from './zod.js';

/** An operation type name: known ones below, or any new name a deployment starts using. */
export const OperationTypeSchema = z
  .string()
  .check(
    z.minLength(1, { message: 'must not be empty', abort: true }),
    z.maxLength(OPERATION_TYPE_MAX_LENGTH, {
      message: `must be at most ${OPERATION_TYPE_MAX_LENGTH} characters`,
      abort: true,
    }),
    z.regex(/^[A-Za-z0-9_.:-]+$/, 'may only contain letters, digits, "_", "-", "." and ":"'),
  )
  .apply(described, 'The operation type, e.g. PartialSig or FullSig');

const text = z.string();

/** The mpc's partial signature sent to a co-signer (v1: "Real Interaction Example"). */
export const PartialSigMessageSchema = z
  .looseObject({ accountHash: text, teamId: text, transactionId: text, partialSig: text })
  .apply(described, 'PartialSig: a partial signature an mpc sends to a cli');

/** The co-signer's completed signature sent back to the mpc. */
export const FullSigMessageSchema = z
  .looseObject({
    accountHash: text,
    signatureR: text,
    signatureS: text,
    signatureV: text,
    teamId: text,
    transactionId: text,
  })
  .apply(described, 'FullSig: the completed signature a cli answers with');

/** The original demo's wscat walkthrough uses `signing` and `fullSig` with a transaction id and a signature. */
export const SigningMessageSchema = z
  .looseObject({ txId: text, signature: text })
  .apply(described, 'signing: the original demo walkthrough message');
export const FullSigLowerMessageSchema = z
  .looseObject({ txId: text, signature: text })
  .apply(described, 'fullSig: the original demo walkthrough answer');

/** Operation types the relay knows, each with the schema its message must satisfy. */
export const KNOWN_OPERATIONS = {
  PartialSig: PartialSigMessageSchema,
  FullSig: FullSigMessageSchema,
  signing: SigningMessageSchema,
  fullSig: FullSigLowerMessageSchema,
} as const;

export type KnownOperationType = keyof typeof KNOWN_OPERATIONS;
export type PartialSigMessage = z.infer<typeof PartialSigMessageSchema>;
export type FullSigMessage = z.infer<typeof FullSigMessageSchema>;
export type SigningMessage = z.infer<typeof SigningMessageSchema>;
export type FullSigLowerMessage = z.infer<typeof FullSigLowerMessageSchema>;

/** The known operation types' names, in the original demo's order. */
export const KNOWN_OPERATION_TYPES = Object.keys(KNOWN_OPERATIONS) as KnownOperationType[];

export function isKnownOperationType(operationType: string): operationType is KnownOperationType {
  return Object.hasOwn(KNOWN_OPERATIONS, operationType);
}
