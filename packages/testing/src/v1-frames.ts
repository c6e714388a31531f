// Protocol v1 frames for conversations of a test's own: the original demo's "Real Interaction
// Example" (fixtures/real-*.json: its key order and values) with other ids. Built to dist/ too, for
// the bench's plain .mjs scripts.
import { REAL_CLI_SENDS, REAL_MPC_SENDS } from './v1.js';

/** Which side of the relay a peer is on, and its id. */
export interface PeerRef {
  type: 'cli' | 'mpc';
  id: string;
}

/** A v1 peer's connect URL, `base?type=cli&cliId=cli123`, as wscat and the original demo's Go client open it. */
export function connectUrl(base: string, peer: PeerRef): string {
  return `${base}?type=${peer.type}&${peer.type}Id=${encodeURIComponent(peer.id)}`;
}

export interface V1PartialSig {
  action: 'sendServer';
  sourceId: string;
  cliToMpc: Record<string, string>;
  operationType: 'PartialSig';
  message: { accountHash: string; teamId: string; transactionId: string; partialSig: string };
}

export interface V1FullSig {
  action: 'sendServer';
  sourceId: string;
  operationType: 'FullSig';
  message: {
    accountHash: string;
    signatureR: string;
    signatureS: string;
    signatureV: string;
    teamId: string;
    transactionId: string;
  };
}

const PARTIAL_SIG: V1PartialSig = REAL_MPC_SENDS;
const FULL_SIG_FRAME: V1FullSig = REAL_CLI_SENDS;

/** The frame with the ids of a conversation: key order and the other values stay the example's. */
function inConversation<F extends V1PartialSig | V1FullSig>(
  frame: F,
  sourceId: string,
  transactionId: string,
  teamId: string,
): F {
  return { ...frame, sourceId, message: { ...frame.message, teamId, transactionId } };
}

/** The PartialSig an mpc sends to open the conversation of `transactionId` with the cli. */
export function partialSig(
  mpcId: string,
  cliId: string,
  transactionId: string,
  teamId = PARTIAL_SIG.message.teamId,
): V1PartialSig {
  return { ...inConversation(PARTIAL_SIG, mpcId, transactionId, teamId), cliToMpc: { [cliId]: mpcId } };
}

/** The FullSig a cli answers with in the conversation of `transactionId`. */
export function fullSig(
  cliId: string,
  transactionId: string,
  teamId = FULL_SIG_FRAME.message.teamId,
): V1FullSig {
  return inConversation(FULL_SIG_FRAME, cliId, transactionId, teamId);
}
