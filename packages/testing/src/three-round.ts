/**
 * A test protocol shaped like DKLs23 2-of-2 key generation: three rounds, the mpc's round 1 about
 * 365 KB of JSON, the cli's round 2 about 113 KB, the mpc's round 3 small. Each contribution
 * carries a SHA-256 over (session, round, payload) that the receiver checks, as a real protocol
 * checks proofs: a wrong one aborts the session.
 *
 * Shaped for the signer's SessionProtocol, which its callers annotate; `abort` makes the error that
 * aborts a session (the signer's SessionAbortError), passed in because the signer's own tests use
 * this package, so it cannot depend on the signer.
 */
import { createHash, randomBytes } from 'node:crypto';

export const ROUND_BYTES = { 1: 365_000, 2: 113_000, 3: 2_000 } as const;

type Abort = (code: string, reason: string) => Error;

const proofOf = (sessionId: string, round: number, payload: string) =>
  createHash('sha256').update(`${sessionId}/${round}/${payload}`).digest('hex');

function contribution(sessionId: string, round: 1 | 2 | 3) {
  // base64 of random bytes: JSON of about ROUND_BYTES[round] characters, incompressible.
  const payload = randomBytes(Math.floor((ROUND_BYTES[round] * 3) / 4)).toString('base64');
  return { round, payload, proof: proofOf(sessionId, round, payload) };
}

function check(abort: Abort, sessionId: string, round: number, message: unknown): string {
  const { payload, proof } = message as { payload: string; proof: string };
  if (proofOf(sessionId, round, payload) !== proof) {
    throw abort('INVALID_CONTRIBUTION', `round ${round} proof does not verify`);
  }
  return proof;
}

export interface ThreeRoundResult {
  proofs: string[];
}

const ROUNDS: Record<string, number> = { TestRound1: 1, TestRound2: 2, TestRound3: 3 };

export function threeRoundProtocol(abort: Abort) {
  return {
    name: 'test-three-round',
    openings: ['TestRound1'],
    roundOf: (operationType: string) => ROUNDS[operationType],
    initiate(context: { sessionId: string }) {
      const proofs: string[] = [];
      return {
        start() {
          const first = contribution(context.sessionId, 1);
          proofs.push(first.proof);
          return { send: [{ operationType: 'TestRound1', message: first }], expect: 2 };
        },
        receive(input: { message: unknown }) {
          proofs.push(check(abort, context.sessionId, 2, input.message));
          const third = contribution(context.sessionId, 3);
          proofs.push(third.proof);
          return { send: [{ operationType: 'TestRound3', message: third }], result: { proofs } };
        },
        destroy() {},
      };
    },
    respond(context: { sessionId: string }, opening: { message: unknown }) {
      const proofs: string[] = [];
      return {
        start() {
          proofs.push(check(abort, context.sessionId, 1, opening.message));
          const second = contribution(context.sessionId, 2);
          proofs.push(second.proof);
          return { send: [{ operationType: 'TestRound2', message: second }], expect: 3 };
        },
        receive(input: { message: unknown }) {
          proofs.push(check(abort, context.sessionId, 3, input.message));
          return { result: { proofs } };
        },
        destroy() {},
      };
    },
  };
}
