import { type PeerIdentity, TOKEN_QUERY_PARAMETER } from '@mpc-relay/protocol';
import { InvalidUrlError } from './errors.js';

/** Where the token goes: the `Authorization` header (v1), the `?token=` query, or both. */
export type TokenPlacement = 'header' | 'query' | 'both';

/**
 * Builds the connect URL: the relay's base URL (`ws://HOST:PORT/STAGE` or `wss://...`) plus
 * `type=cli&cliId=ID` (or `type=mpc&mpcId=ID`), and `token=T` when the token goes in the query.
 * Query parameters already in the base URL are kept. Throws InvalidUrlError for anything else.
 */
export function buildConnectUrl(
  base: string,
  peer: PeerIdentity,
  token: string | undefined,
  placement: TokenPlacement,
): URL {
  let url: URL;
  try {
    url = new URL(base);
  } catch {
    throw new InvalidUrlError(`invalid relay URL ${JSON.stringify(base)}: expected ws://HOST[:PORT]/STAGE`);
  }
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') {
    throw new InvalidUrlError(
      `invalid relay URL ${JSON.stringify(base)}: the scheme must be ws:// or wss://, not ${url.protocol}//`,
    );
  }
  url.hash = '';
  url.searchParams.set('type', peer.type);
  url.searchParams.set(peer.type === 'cli' ? 'cliId' : 'mpcId', peer.id);
  if (token !== undefined && placement !== 'header') url.searchParams.set(TOKEN_QUERY_PARAMETER, token);
  return url;
}

/** The URL with any token in the query replaced by `***`, for logs. */
export function redactUrl(url: URL): string {
  const copy = new URL(url.href);
  if (copy.searchParams.has(TOKEN_QUERY_PARAMETER)) copy.searchParams.set(TOKEN_QUERY_PARAMETER, '***');
  if (copy.password) copy.password = '***';
  return copy.href;
}
