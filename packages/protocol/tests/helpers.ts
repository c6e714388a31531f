import { readFileSync } from 'node:fs';

/** A fixture's exact text (copied verbatim from the original demo's README). */
export function fixture(name: string): string {
  return readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
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
