import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createRelayTable } from '@mpc-relay/handlers';
import dynalite from 'dynalite';
import { createLocalGateway, type LocalGateway, type LocalGatewayOptions } from '../src/index.js';
import { waitFor } from './helpers.js';

/** The real handler bundles (packages/handlers/dist) on an in-memory dynalite behind the gateway. */
export async function startRealRelay(
  options: Pick<LocalGatewayOptions, 'environments'> = {},
): Promise<{ gateway: LocalGateway; close(): Promise<void> }> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const store = dynalite({ createTableMs: 0 });
  await new Promise<void>((resolve) => store.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(store.address() as AddressInfo).port}`;
  const client = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  await createRelayTable(client, 'relay-e2e');
  client.destroy();
  const gateway = await createLocalGateway({
    port: 0,
    authMode: 'static',
    env: {
      TABLE_NAME: 'relay-e2e',
      DYNAMODB_ENDPOINT: endpoint,
      AUTH_MODE: 'static',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      LOG_LEVEL: 'ERROR',
      POWERTOOLS_METRICS_DISABLED: 'true',
    },
    ...options,
  });
  return {
    gateway,
    async close() {
      await gateway.close();
      await new Promise<void>((resolve) => {
        (store as Server).close(() => resolve());
        (store as Server).closeAllConnections();
      });
    },
  };
}

const WSCAT = join(dirname(fileURLToPath(import.meta.url)), '..', 'node_modules', 'wscat', 'bin', 'wscat');

/** Drives the real `wscat` binary: writes lines to its stdin, reads the messages it prints. */
export class Wscat {
  private output = '';
  private consumed = 0;
  exited?: number | null;
  private constructor(readonly child: ChildProcessWithoutNullStreams) {
    child.stdout.on('data', (c: Buffer) => {
      this.output += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      this.output += c.toString();
    });
    child.on('exit', (code) => {
      this.exited = code;
    });
  }

  /**
   * Starts `wscat -c URL -H ...`. With a pipe as stdout wscat prints received messages only (no
   * "Connected" line, no "< " marker), so readiness is the gateway seeing the connection open.
   */
  static async connect(
    url: string,
    isOpen: () => boolean,
    headers: string[] = ['Authorization: Allow'],
  ): Promise<Wscat> {
    const args = [WSCAT, '--no-color', '-c', url, ...headers.flatMap((h) => ['-H', h])];
    const w = new Wscat(spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'] }));
    await waitFor(() => isOpen() || w.exited !== undefined, 'wscat to connect');
    if (w.exited !== undefined) throw new Error(`wscat did not connect: ${w.output}`);
    return w;
  }

  /** Sends one message: wscat sends each line of its input as a message. */
  send(line: string): void {
    this.child.stdin.write(`${line}\n`);
  }

  /** The next message wscat printed (one line each; readline's "> " prompts stripped). */
  async next(timeoutMs = 10_000): Promise<string> {
    let found: string | undefined;
    await waitFor(
      () => {
        const end = this.output.lastIndexOf('\n');
        if (end < this.consumed) return false;
        const lines = this.output.slice(this.consumed, end).split('\n');
        let offset = this.consumed;
        for (const line of lines) {
          offset += line.length + 1;
          const text = line
            .replace(/\r/g, '')
            .replace(/^(> )+/, '')
            .trim();
          if (text) {
            found = text;
            this.consumed = offset;
            return true;
          }
        }
        this.consumed = offset;
        return false;
      },
      `a message in wscat output: ${JSON.stringify(this.output)}`,
      timeoutMs,
    );
    return found!;
  }

  async close(): Promise<void> {
    if (this.exited !== undefined) return;
    this.child.kill('SIGINT');
    await waitFor(() => this.exited !== undefined, 'wscat to exit', 5_000).catch(() =>
      this.child.kill('SIGKILL'),
    );
  }
}
