/**
 * MuSig2 over the relay, as two session protocols. The mpc initiates both; the cli co-signer answers.
 *
 * Key setup (`musig2-keysetup`):
 *   1. mpc -> cli  KeySetup    {scheme, publicKey, sealPublicKey?}
 *   2. cli -> mpc  KeySetup    {scheme, publicKey, aggregatePublicKey, internalKey, taprootAddress, sealPublicKey?}
 * Both derive the aggregate key; the mpc refuses an answer whose aggregate differs from its own.
 *
 * Signing (`musig2-sign`), one signature per session:
 *   1. mpc -> cli  SignRequest {scheme, accountHash, teamId, transactionId, aggregatePublicKey, messageDigest}
 *   2. cli -> mpc  MuSig2Nonce {scheme, accountHash, teamId, transactionId, publicNonce}
 *   3. mpc -> cli  PartialSig  {accountHash, teamId, transactionId, partialSig, publicNonce, scheme}
 *   4. cli -> mpc  FullSig     {accountHash, signatureR, signatureS, signatureV: "0", teamId, transactionId,
 *                               scheme, aggregatePublicKey, messageDigest}
 * Refusals and aborts, either way: SignRefused {accountHash, teamId, transactionId, code, reason}.
 * Each secret nonce lives in memory for one session only, signs once (it is zeroed by signing)
 * and is zeroed when the session ends in any other way.
 */
import {
  KeySetupMessageSchema,
  type Musig2FullSigMessage,
  Musig2FullSigMessageSchema,
  Musig2NonceMessageSchema,
  Musig2PartialSigMessageSchema,
  SignRequestMessageSchema,
} from '@mpc-relay/protocol';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { buildSignRefused } from '../cosigner.js';
import { newSealKeyPair } from '../seal.js';
import {
  type ProtocolRun,
  type RoundInput,
  SessionAbortError,
  type SessionProtocol,
} from '../sessions/types.js';
import {
  aggregateKey,
  freshNonces,
  individualPublicKey,
  MUSIG2_SCHEME,
  Musig2Signing,
  musig2Digest,
  randomSecretKey,
  SCHNORR_SIGNATURE_V,
  verifySchnorr,
} from './core.js';
import type { Musig2KeyStore, Musig2Pair } from './keystore.js';

interface Schema<T> {
  safeParse(
    value: unknown,
  ): { success: true; data: T } | { success: false; error: { issues: { path: PropertyKey[] }[] } };
}

function parse<T>(schema: Schema<T>, message: unknown, what: string): T {
  const parsed = schema.safeParse(message);
  if (!parsed.success) {
    const fields = parsed.error.issues
      .map((issue) => issue.path.map(String).join('.') || '(root)')
      .join(', ');
    throw new SessionAbortError('INVALID_REQUEST', `${what} is missing or has invalid fields: ${fields}`);
  }
  return parsed.data;
}

const refusal = (code: string, reason: string, opening: unknown) => ({
  operationType: 'SignRefused',
  message: buildSignRefused(opening, code, reason),
});

export interface PairSummary {
  peerId: string;
  aggregatePublicKey: string;
  internalKey: string;
  taprootAddress: string;
  sealed: boolean;
}

export interface KeySetupParams {
  /** Ask for sealed payloads with this pair. */
  seal?: boolean;
  /** Replace an existing pair with this peer. */
  replace?: boolean;
}

export interface KeySetupOptions {
  /** Responder: accept a peer's request for sealed payloads (default true). */
  acceptSeal?: boolean;
  /** Called once a pair is saved (for logs). */
  onPair?: (pair: PairSummary) => void;
}

export function musig2KeySetupProtocol(
  store: Musig2KeyStore,
  options: KeySetupOptions = {},
): SessionProtocol<KeySetupParams, PairSummary> {
  const round = store.self.type === 'cli' ? 1 : 2;
  return {
    name: 'musig2-keysetup',
    openings: ['KeySetup'],
    sealable: false,
    roundOf: (operationType) => (operationType === 'KeySetup' ? round : undefined),
    abortOperationTypes: ['SignRefused'],
    abortMessage: refusal,
    initiate(context, params) {
      let secretKey: Uint8Array | undefined = randomSecretKey();
      const seal = params.seal ? newSealKeyPair() : undefined;
      const run: ProtocolRun<PairSummary> = {
        async start() {
          if (!params.replace && (await store.has(context.peerId))) {
            throw new SessionAbortError('KEY_EXISTS', `a MuSig2 pair with ${context.peerId} already exists`);
          }
          return {
            send: [
              {
                operationType: 'KeySetup',
                message: {
                  scheme: MUSIG2_SCHEME,
                  publicKey: bytesToHex(individualPublicKey(secretKey as Uint8Array)),
                  ...(seal ? { sealPublicKey: bytesToHex(seal.publicKey) } : {}),
                },
              },
            ],
            expect: 2,
          };
        },
        async receive(input: RoundInput) {
          const answer = parse(KeySetupMessageSchema, input.message, 'KeySetup');
          const peerPublicKey = hexToBytes(answer.publicKey);
          let derived: ReturnType<typeof aggregateKey>;
          try {
            derived = aggregateKey(
              individualPublicKey(secretKey as Uint8Array),
              peerPublicKey,
              store.network,
            );
          } catch (error) {
            throw new SessionAbortError('INVALID_KEY', (error as Error).message);
          }
          if (answer.aggregatePublicKey !== bytesToHex(derived.aggregatePublicKey)) {
            throw new SessionAbortError('KEY_MISMATCH', 'the peer derived another aggregate key');
          }
          const pair = await store.save(
            {
              peerId: context.peerId,
              secretKey: secretKey as Uint8Array,
              peerPublicKey,
              ...(seal && answer.sealPublicKey
                ? { sealSecretKey: seal.secretKey, peerSealPublicKey: hexToBytes(answer.sealPublicKey) }
                : {}),
            },
            params.replace ?? false,
          );
          options.onPair?.(pair.describe());
          return { result: pair.describe() };
        },
        destroy() {
          secretKey?.fill(0);
          secretKey = undefined;
          seal?.secretKey.fill(0);
        },
      };
      return run;
    },
    respond(context, opening) {
      const request = parse(KeySetupMessageSchema, opening.message, 'KeySetup');
      const secretKey = randomSecretKey();
      const seal = request.sealPublicKey && options.acceptSeal !== false ? newSealKeyPair() : undefined;
      return {
        async start() {
          if (await store.has(context.peerId)) {
            throw new SessionAbortError(
              'KEY_EXISTS',
              `a MuSig2 pair with ${context.peerId} already exists here`,
            );
          }
          let pair: Musig2Pair;
          try {
            pair = await store.save({
              peerId: context.peerId,
              secretKey,
              peerPublicKey: hexToBytes(request.publicKey),
              ...(seal && request.sealPublicKey
                ? { sealSecretKey: seal.secretKey, peerSealPublicKey: hexToBytes(request.sealPublicKey) }
                : {}),
            });
          } catch (error) {
            throw new SessionAbortError('INVALID_KEY', (error as Error).message);
          }
          const summary = pair.describe();
          options.onPair?.(summary);
          return {
            send: [
              {
                operationType: 'KeySetup',
                message: {
                  scheme: MUSIG2_SCHEME,
                  publicKey: bytesToHex(pair.publicKey),
                  aggregatePublicKey: summary.aggregatePublicKey,
                  internalKey: summary.internalKey,
                  taprootAddress: summary.taprootAddress,
                  ...(seal ? { sealPublicKey: bytesToHex(seal.publicKey) } : {}),
                },
              },
            ],
            result: summary,
          };
        },
        receive() {
          throw new SessionAbortError('CONFLICTING_MESSAGE', 'key setup has one round');
        },
        destroy() {
          secretKey.fill(0);
          seal?.secretKey.fill(0);
        },
      };
    },
  };
}

export interface SignParams {
  accountHash: string;
  teamId: string;
  transactionId: string;
  /** The 32 bytes to sign (hex); default the documented digest of the three ids. */
  messageDigest?: string;
}

export interface SignResult {
  sessionId: string;
  accountHash: string;
  teamId: string;
  transactionId: string;
  aggregatePublicKey: string;
  messageDigest: string;
  /** BIP-340 signature, 64 bytes hex: signatureR || signatureS. */
  signature: string;
  fullSig: Musig2FullSigMessage;
}

export interface SignOptions {
  /**
   * Responder: `bound` (default) signs only the documented digest of the request's ids; `any`
   * signs whatever 32 bytes an allowed mpc asks (e.g. a BIP-341 sighash spending the pair's address).
   */
  digestPolicy?: 'bound' | 'any';
  /** Responder: a last word before signing (policy); return a reason string to refuse (`POLICY`). */
  approve?: (request: SignParams & { from: string; messageDigest: string }) => string | undefined;
}

function sameIds(a: SignParams, b: SignParams, what: string): void {
  for (const name of ['accountHash', 'teamId', 'transactionId'] as const) {
    if (a[name] !== b[name])
      throw new SessionAbortError('INVALID_REQUEST', `${what} ${name} does not match the session`);
  }
}

function ids(fields: SignParams): SignParams {
  return { accountHash: fields.accountHash, teamId: fields.teamId, transactionId: fields.transactionId };
}

export function musig2SignProtocol(
  store: Musig2KeyStore,
  options: SignOptions = {},
): SessionProtocol<SignParams, SignResult> {
  const isMusig2 = (message: unknown) =>
    message !== null &&
    typeof message === 'object' &&
    ((message as { scheme?: unknown }).scheme === MUSIG2_SCHEME || 'sealed' in message);
  return {
    name: 'musig2-sign',
    openings: ['SignRequest'],
    abortOperationTypes: ['SignRefused'],
    abortMessage: refusal,
    roundOf(operationType, message) {
      if (operationType === 'SignRequest') return 1;
      if (operationType === 'MuSig2Nonce') return 2;
      if (operationType === 'PartialSig' && isMusig2(message)) return 3;
      if (operationType === 'FullSig' && isMusig2(message)) return 4;
      return undefined;
    },
    initiate(context, params) {
      let pair: Musig2Pair | undefined;
      let signing: Musig2Signing | undefined;
      let digest: Uint8Array;
      const run: ProtocolRun<SignResult> = {
        async start() {
          pair = await store.get(context.peerId);
          if (!pair)
            throw new SessionAbortError(
              'UNKNOWN_KEY',
              `no MuSig2 pair with ${context.peerId}: run a key setup first`,
            );
          digest = params.messageDigest ? hexToBytes(params.messageDigest) : musig2Digest(params);
          return {
            send: [
              {
                operationType: 'SignRequest',
                message: {
                  scheme: MUSIG2_SCHEME,
                  ...ids(params),
                  aggregatePublicKey: pair.aggregatePublicKeyHex,
                  messageDigest: bytesToHex(digest),
                },
              },
            ],
            expect: 2,
          };
        },
        receive(input) {
          const own = pair as Musig2Pair;
          if (input.round === 2) {
            const nonce = parse(Musig2NonceMessageSchema, input.message, 'MuSig2Nonce');
            sameIds(params, nonce, 'MuSig2Nonce');
            const mine = own.withSecretKey((secretKey) =>
              freshNonces(own.publicKey, secretKey, own.key, digest, context.sessionId),
            );
            try {
              signing = new Musig2Signing(
                own.key,
                digest,
                new Map([
                  [bytesToHex(own.publicKey), mine.public],
                  [bytesToHex(own.peerPublicKey), hexToBytes(nonce.publicNonce)],
                ]),
              );
            } catch (error) {
              mine.secret.fill(0);
              throw new SessionAbortError(
                'INVALID_NONCE',
                `the co-signer's nonce is invalid: ${(error as Error).message}`,
              );
            }
            const partialSig = own.partialSign(signing, mine.secret);
            return {
              send: [
                {
                  operationType: 'PartialSig',
                  message: {
                    ...ids(params),
                    partialSig: bytesToHex(partialSig),
                    publicNonce: bytesToHex(mine.public),
                    scheme: MUSIG2_SCHEME,
                  },
                },
              ],
              expect: 4,
            };
          }
          const fullSig = parse(Musig2FullSigMessageSchema, input.message, 'FullSig');
          sameIds(params, fullSig, 'FullSig');
          const signature = `${fullSig.signatureR}${fullSig.signatureS}`;
          if (
            fullSig.aggregatePublicKey !== own.aggregatePublicKeyHex ||
            fullSig.messageDigest !== bytesToHex(digest) ||
            !verifySchnorr(hexToBytes(signature), digest, own.key.aggregatePublicKey)
          ) {
            throw new SessionAbortError(
              'INVALID_SIGNATURE',
              'the FullSig does not verify under the aggregate key',
            );
          }
          return {
            result: {
              sessionId: context.sessionId,
              ...ids(params),
              aggregatePublicKey: own.aggregatePublicKeyHex,
              messageDigest: bytesToHex(digest),
              signature,
              fullSig,
            },
          };
        },
        destroy() {
          signing = undefined;
        },
      };
      return run;
    },
    respond(context, opening) {
      const request = parse(SignRequestMessageSchema, opening.message, 'SignRequest');
      let secretNonce: Uint8Array | undefined;
      let publicNonce: Uint8Array | undefined;
      let pair: Musig2Pair | undefined;
      const digest = hexToBytes(request.messageDigest);
      return {
        async start() {
          pair = await store.get(context.peerId);
          if (!pair)
            throw new SessionAbortError(
              'UNKNOWN_KEY',
              `no MuSig2 pair with ${context.peerId}: run a key setup first`,
            );
          if (request.aggregatePublicKey !== pair.aggregatePublicKeyHex) {
            throw new SessionAbortError(
              'UNKNOWN_KEY',
              `aggregate key ${request.aggregatePublicKey} is not the pair's`,
            );
          }
          if (
            (options.digestPolicy ?? 'bound') === 'bound' &&
            bytesToHex(musig2Digest(request)) !== request.messageDigest
          ) {
            throw new SessionAbortError(
              'INVALID_REQUEST',
              'messageDigest is not the documented digest of accountHash, teamId and transactionId',
            );
          }
          const veto = options.approve?.({
            ...ids(request),
            from: context.peerId,
            messageDigest: request.messageDigest,
          });
          if (veto !== undefined) throw new SessionAbortError('POLICY', veto);
          const own = pair;
          const nonces = own.withSecretKey((secretKey) =>
            freshNonces(own.publicKey, secretKey, own.key, digest, context.sessionId),
          );
          secretNonce = nonces.secret;
          publicNonce = nonces.public;
          return {
            send: [
              {
                operationType: 'MuSig2Nonce',
                message: { scheme: MUSIG2_SCHEME, ...ids(request), publicNonce: bytesToHex(publicNonce) },
              },
            ],
            expect: 3,
          };
        },
        receive(input) {
          const own = pair as Musig2Pair;
          const partial = parse(Musig2PartialSigMessageSchema, input.message, 'PartialSig');
          sameIds(request, partial, 'PartialSig');
          if (!secretNonce || !publicNonce)
            throw new SessionAbortError('NONCE_USED', 'this session has signed already');
          let signing: Musig2Signing;
          try {
            signing = new Musig2Signing(
              own.key,
              digest,
              new Map([
                [bytesToHex(own.publicKey), publicNonce],
                [bytesToHex(own.peerPublicKey), hexToBytes(partial.publicNonce)],
              ]),
            );
          } catch (error) {
            throw new SessionAbortError(
              'INVALID_PARTIAL_SIG',
              `the mpc's public nonce is invalid: ${(error as Error).message}`,
            );
          }
          if (!signing.verifyPartial(hexToBytes(partial.partialSig), own.peerPublicKey)) {
            throw new SessionAbortError(
              'INVALID_PARTIAL_SIG',
              'the partial signature does not verify (partialSigVerify)',
            );
          }
          // Consumed here: zeroed by signing, and gone from this run before the answer is sent.
          const nonce = secretNonce;
          secretNonce = undefined;
          const mine = own.partialSign(signing, nonce);
          const signature = signing.aggregate(
            new Map([
              [bytesToHex(own.publicKey), mine],
              [bytesToHex(own.peerPublicKey), hexToBytes(partial.partialSig)],
            ]),
          );
          if (!verifySchnorr(signature, digest, own.key.aggregatePublicKey)) {
            throw new SessionAbortError('INVALID_SIGNATURE', 'the aggregate signature does not verify');
          }
          const hex = bytesToHex(signature);
          const fullSig = {
            accountHash: request.accountHash,
            signatureR: hex.slice(0, 64),
            signatureS: hex.slice(64),
            signatureV: SCHNORR_SIGNATURE_V,
            teamId: request.teamId,
            transactionId: request.transactionId,
            scheme: MUSIG2_SCHEME,
            aggregatePublicKey: own.aggregatePublicKeyHex,
            messageDigest: request.messageDigest,
          } as const;
          return {
            send: [{ operationType: 'FullSig', message: fullSig }],
            result: {
              sessionId: context.sessionId,
              ...ids(request),
              aggregatePublicKey: own.aggregatePublicKeyHex,
              messageDigest: request.messageDigest,
              signature: hex,
              fullSig,
            },
          };
        },
        destroy() {
          secretNonce?.fill(0);
          secretNonce = undefined;
        },
      };
    },
  };
}
