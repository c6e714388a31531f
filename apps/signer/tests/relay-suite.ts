/**
 * What the end-to-end files share: a temporary folder removed after the file, cleanups run in
 * reverse after each test, in-process relays on port 0 (each on its own data folder, its log on
 * stdout with E2E_DEBUG set) and clients that reconnect fast.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Relay, type RelayOptions, startRelay } from '@mpc-relay/relay';
import { RelayClient, type RelayClientOptions } from '@mpc-relay/signer';
import { afterAll, afterEach, beforeAll } from 'vitest';

export const FAST_RECONNECT = { initialDelayMs: 20, maxDelayMs: 200 };

export function relaySuite(prefix: string) {
  let root = '';
  let folders = 0;
  const cleanups: (() => Promise<unknown> | unknown)[] = [];
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), prefix));
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  /** Runs after the current test, before the ones registered earlier. */
  function defer(cleanup: () => Promise<unknown> | unknown): void {
    cleanups.push(cleanup);
  }

  /** A path inside the suite's temporary folder, new on each call unless named. */
  function path(name = `folder-${++folders}`): string {
    return join(root, name);
  }

  async function relay(options: Partial<RelayOptions> = {}): Promise<Relay> {
    const debug = process.env.E2E_DEBUG ? (line: string) => console.log(line) : undefined;
    const own = options.log;
    const log =
      own && debug
        ? (line: string) => {
            own(line);
            debug(line);
          }
        : (own ?? debug);
    const started = await startRelay({ port: 0, dataDir: path(), ...options, ...(log ? { log } : {}) });
    defer(() => started.close());
    return started;
  }

  function client(options: RelayClientOptions): RelayClient {
    const created = new RelayClient({ reconnect: FAST_RECONNECT, ...options });
    defer(() => created.close());
    return created;
  }

  return { defer, path, relay, client };
}
