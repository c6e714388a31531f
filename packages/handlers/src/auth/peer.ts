import { type PeerIdentity, parseConnectParams } from '@mpc-relay/protocol';

/** The peer the connect query names, or undefined (then `$connect` answers 400). */
export function queryPeer(query: Record<string, string | undefined>): PeerIdentity | undefined {
  const parsed = parseConnectParams(query);
  return parsed.ok ? parsed.value : undefined;
}
