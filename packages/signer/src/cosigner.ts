/**
 * The co-signer service: answers every PartialSig the client receives with a FullSig (the original demo's
 * "Client1 auto sends"), or with a SignRefused when the backend refuses or fails.
 *
 * - FullSig message, keys in the original demo's order:
 *   `{accountHash, signatureR, signatureS, signatureV, teamId, transactionId}`.
 * - SignRefused message: `{accountHash, teamId, transactionId, code, reason}` (ids copied from the
 *   request when they are strings). Codes: `INVALID_REQUEST` (not a valid PartialSig), the backend's
 *   own codes (e.g. `POLICY`), `BACKEND_FAILURE` (the backend threw), `TIMEOUT`.
 * - A request is signed once and answered once: the service never retries the backend. A
 *   PartialSig delivered twice is answered twice; with the deterministic (RFC 6979) single-key
 *   backend the answers are identical, so the mpc may keep either.
 */
import type { PartialSigMessage } from '@mpc-relay/protocol';
import type { SignatureFields, SigningBackend } from './backend.js';
import type { RelayClient } from './client.js';
import { FULL_SIG_OPERATION, PARTIAL_SIG_OPERATION, SIGN_REFUSED_OPERATION } from './digest.js';
import type { Delivery } from './events.js';

export interface FullSigMessageOut extends SignatureFields {
  accountHash: string;
  teamId: string;
  transactionId: string;
}

export interface SignRefusedMessage {
  accountHash?: string;
  teamId?: string;
  transactionId?: string;
  code: string;
  reason: string;
}

export interface CosignerHooks {
  onSigned?(info: { from: string; request: PartialSigMessage; fullSig: FullSigMessageOut }): void;
  onRefused?(info: { from: string; request: unknown; refusal: SignRefusedMessage }): void;
  /** The answer could not be queued or written (client closed, outbox full...). */
  onSendFailed?(info: { transactionId?: string; error: Error }): void;
}

export interface CosignerOptions {
  /** Longest wait for the backend per request; then a SignRefused `TIMEOUT`. Default 20 s. */
  signTimeoutMs?: number;
  /**
   * Which mpcs may be signed for (see allow-list.ts). Anything else is answered with a SignRefused
   * `NOT_ALLOWED` (and reported through `onRefused`); the backend never sees it.
   */
  allowMpc?: (mpcId: string) => boolean;
}

function stringField(message: unknown, field: string): string | undefined {
  if (message === null || typeof message !== 'object') return undefined;
  const value = (message as Record<string, unknown>)[field];
  return typeof value === 'string' ? value : undefined;
}

function isPartialSig(message: unknown): message is PartialSigMessage {
  return ['accountHash', 'teamId', 'transactionId', 'partialSig'].every(
    (field) => stringField(message, field) !== undefined,
  );
}

/** Builds a SignRefused message for a request, copying its ids when they are strings. */
export function buildSignRefused(request: unknown, code: string, reason: string): SignRefusedMessage {
  const refusal: SignRefusedMessage = { code, reason };
  for (const field of ['accountHash', 'teamId', 'transactionId'] as const) {
    const value = stringField(request, field);
    if (value !== undefined) refusal[field] = value;
  }
  // Key order: ids first, then code and reason.
  const { code: c, reason: r, ...ids } = refusal;
  return { ...ids, code: c, reason: r };
}

/** Starts answering PartialSig deliveries on `client` with `backend`; returns a stop function. */
export function attachCosigner(
  client: RelayClient,
  backend: SigningBackend,
  hooks: CosignerHooks = {},
  options: CosignerOptions = {},
): () => void {
  const timeoutMs = options.signTimeoutMs ?? 20_000;

  const answer = (
    operationType: string,
    message: unknown,
    transactionId: string | undefined,
    sessionId: string | undefined,
  ) => {
    try {
      client
        .send({ operationType, message, ...(sessionId === undefined ? {} : { sessionId }) })
        .catch((error: Error) => {
          hooks.onSendFailed?.({ ...(transactionId ? { transactionId } : {}), error });
        });
    } catch (error) {
      hooks.onSendFailed?.({ ...(transactionId ? { transactionId } : {}), error: error as Error });
    }
  };

  const refuse = (delivery: Delivery, code: string, reason: string) => {
    const refusal = buildSignRefused(delivery.message, code, reason);
    hooks.onRefused?.({ from: delivery.from, request: delivery.message, refusal });
    answer(SIGN_REFUSED_OPERATION, refusal, refusal.transactionId, delivery.sessionId);
  };

  const handle = async (delivery: Delivery) => {
    const request = delivery.message;
    if (options.allowMpc && !options.allowMpc(delivery.from)) {
      refuse(delivery, 'NOT_ALLOWED', `${delivery.from} is not on this co-signer's allow-list`);
      return;
    }
    if (!isPartialSig(request)) {
      refuse(
        delivery,
        'INVALID_REQUEST',
        'PartialSig needs string accountHash, teamId, transactionId and partialSig',
      );
      return;
    }
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    let result: Awaited<ReturnType<SigningBackend['sign']>> | 'timeout';
    try {
      result = await Promise.race([
        backend.sign({ from: delivery.from, message: request }, { signal: controller.signal }),
        timeout,
      ]);
    } catch (error) {
      refuse(delivery, 'BACKEND_FAILURE', `signing backend failed: ${(error as Error).message}`);
      return;
    } finally {
      clearTimeout(timer);
    }
    if (result === 'timeout') {
      controller.abort();
      refuse(delivery, 'TIMEOUT', `signing backend did not answer within ${timeoutMs} ms`);
      return;
    }
    if (!result.ok) {
      refuse(delivery, result.code, result.reason);
      return;
    }
    const fullSig: FullSigMessageOut = {
      accountHash: request.accountHash,
      signatureR: result.signature.signatureR,
      signatureS: result.signature.signatureS,
      signatureV: result.signature.signatureV,
      teamId: request.teamId,
      transactionId: request.transactionId,
    };
    hooks.onSigned?.({ from: delivery.from, request, fullSig });
    answer(FULL_SIG_OPERATION, fullSig, request.transactionId, delivery.sessionId);
  };

  return client.onOperation(PARTIAL_SIG_OPERATION, (delivery) => {
    void handle(delivery);
  });
}
