/** What the fake-relay suites share: cleanup after each test, fake relays, clients that reconnect fast. */

import { FakeRelay, type FakeRelayOptions } from '@mpc-relay/testing';
import { afterEach } from 'vitest';
import { RelayClient, type RelayClientOptions } from '../../src/index.js';

export function fakeRelaySuite(
  clientDefaults: Pick<RelayClientOptions, 'peer'> & Partial<RelayClientOptions>,
) {
  /** Run in reverse order after each test; a test that stopped a relay itself pops its entry. */
  const cleanups: (() => Promise<unknown> | unknown)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function startRelay(options?: FakeRelayOptions): Promise<FakeRelay> {
    const relay = await new FakeRelay(options).start();
    cleanups.push(() => relay.stop());
    return relay;
  }

  function makeClient(options: Partial<RelayClientOptions> & { url: string }): RelayClient {
    const client = new RelayClient({
      reconnect: { initialDelayMs: 20, maxDelayMs: 200 },
      ...clientDefaults,
      ...options,
    });
    cleanups.push(() => client.close());
    return client;
  }

  return { cleanups, startRelay, makeClient };
}
