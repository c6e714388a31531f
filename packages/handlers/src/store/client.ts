import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { Sha256 } from '@smithy/core/checksum';
import { SignatureV4 } from '@smithy/signature-v4';
import { environmentCredentials } from '../aws/credentials.js';
import { type DocumentStore, documentStore } from './document.js';
import { attachRequestCounter } from './request-counter.js';
import type { TableRef } from './table.js';

export { type DocumentStore, documentStore };

/**
 * Document stores, created once per container and endpoint and reused by every invocation
 * (connection reuse matters more than anything else for latency). Handler modules call
 * `documentClient()` at module scope so the client is built during the Lambda init phase.
 */
const stores = new Map<string, DocumentStore>();

export function documentClient(
  endpoint: string | undefined = process.env.DYNAMODB_ENDPOINT || undefined,
  region: string = process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION || 'us-east-1',
): DocumentStore {
  const key = `${region} ${endpoint ?? ''}`;
  let store = stores.get(key);
  if (!store) {
    let signer: SignatureV4 | undefined;
    const base: DynamoDBClient = new DynamoDBClient({
      region,
      credentials: environmentCredentials(),
      ...(endpoint ? { endpoint } : {}),
      // The resolved middleware stack of each command class is kept: the stack never changes
      // after this function (the request counter below is added before the first send).
      cacheMiddleware: true,
      // One signer for the container: the client's default builds a new one for every request
      // (copying the whole client config) and so derives the signing key again each time. The
      // same signer as the default: SigV4 for `dynamodb` in the client's region, paths escaped,
      // the client's (memoized) credentials; the clock-skew correction stays the client's (it
      // passes the corrected signing date).
      signer: async () => {
        signer ??= new SignatureV4({
          service: 'dynamodb',
          region,
          credentials: base.config.credentials,
          sha256: Sha256,
          uriEscapePath: true,
        });
        return signer;
      },
    });
    attachRequestCounter(base);
    store = documentStore(base);
    stores.set(key, store);
  }
  return store;
}

/** The relay table of a configuration, on the container's cached client for its endpoint. */
export function relayTable(config: {
  dynamodbEndpoint: string | undefined;
  region: string;
  tableName: string;
}): TableRef {
  return { db: documentClient(config.dynamodbEndpoint, config.region), tableName: config.tableName };
}
