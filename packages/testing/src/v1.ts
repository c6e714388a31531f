// The original demo's README example messages. The JSON files in ../fixtures are the single source,
// kept verbatim (key order, spacing) so tests can compare exact text; the objects below parse them.
import { readFileSync } from 'node:fs';

/** A fixture's exact text (copied verbatim from the original demo's README). */
export function fixture(name: string): string {
  return readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8');
}

/** The fixture as the relay puts it on the wire: compact JSON, same key order. */
export function compact(text: string): string {
  return JSON.stringify(JSON.parse(text));
}

/** The client frames of the original demo's README, with the frame the receiving peer gets for each. */
export const V1_EXAMPLES = {
  wscatSigning: { sent: 'wscat-signing.mpc-sends.json', received: 'wscat-signing.cli-receives.json' },
  wscatFullSig: { sent: 'wscat-fullSig.cli-sends.json', received: 'wscat-fullSig.mpc-receives.json' },
  realPartialSig: { sent: 'real-PartialSig.mpc-sends.json', received: 'real-PartialSig.cli-receives.json' },
  realFullSig: { sent: 'real-FullSig.cli-sends.json', received: 'real-FullSig.mpc-receives.json' },
} as const;

export const GET_CONNECTION_ID_FIXTURE = 'v1-get-connection-id.client.json';

// biome-ignore lint/suspicious/noExplicitAny: parsed JSON for assertions and frames
type Json = any;
const parsed = (name: string): Json => JSON.parse(fixture(name));

/** The README's "Real Interaction Example": what the mpc sends, what the cli receives, and back. */
export const REAL_MPC_SENDS = parsed(V1_EXAMPLES.realPartialSig.sent);
export const REAL_CLI_RECEIVES = parsed(V1_EXAMPLES.realPartialSig.received);
export const REAL_CLI_SENDS = parsed(V1_EXAMPLES.realFullSig.sent);
export const REAL_MPC_RECEIVES = parsed(V1_EXAMPLES.realFullSig.received);
export const FULL_SIG = REAL_CLI_SENDS.message;
