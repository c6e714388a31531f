/**
 * The single-key co-signer as a session protocol: one round each way. The mpc's PartialSig opens
 * the session (keyed by its `sessionId`, or by its `transactionId` for a v1 PartialSig without
 * one); the answer is the FullSig of SingleKeyCosigner, or a SignRefused.
 */
import { buildSignRefused } from '../cosigner.js';
import type { SingleKeyCosigner } from '../single-key.js';
import { SessionAbortError, type SessionProtocol } from './types.js';

export function singleKeyProtocol(
  cosigner: SingleKeyCosigner,
): SessionProtocol<never, { fullSig: Record<string, string> }> {
  return {
    name: 'single-key',
    openings: ['PartialSig'],
    abortOperationTypes: ['SignRefused'],
    abortMessage: (code, reason, opening) => ({
      operationType: 'SignRefused',
      message: buildSignRefused(opening, code, reason),
    }),
    roundOf: (operationType, message) =>
      operationType === 'PartialSig' && (message as { scheme?: unknown } | null)?.scheme === undefined
        ? 1
        : undefined,
    respond(context, opening) {
      return {
        async start() {
          const result = await cosigner.sign({ from: context.peerId, message: opening.message as never });
          if (!result.ok) throw new SessionAbortError(result.code, result.reason);
          const request = opening.message as Record<string, string>;
          const fullSig = {
            accountHash: request.accountHash as string,
            ...result.signature,
            teamId: request.teamId as string,
            transactionId: request.transactionId as string,
          };
          return { send: [{ operationType: 'FullSig', message: fullSig }], result: { fullSig } };
        },
        receive() {
          throw new SessionAbortError('CONFLICTING_MESSAGE', 'the single-key co-signer answers once');
        },
        destroy() {},
      };
    },
  };
}
