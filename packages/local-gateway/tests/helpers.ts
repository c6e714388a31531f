import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LambdaClient } from '@aws-sdk/client-lambda';
import WebSocket from 'ws';

export { signedFetch } from '@mpc-relay/testing';

// biome-ignore lint/suspicious/noExplicitAny: parsed JSON in assertions
export type Json = any;

import {
  createLocalGateway,
  type GatewayRoute,
  type LocalGateway,
  type LocalGatewayOptions,
} from '../src/index.js';

export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'handlers');

/** Events the fixture handlers record (same process, same globalThis). */
export interface FixtureState {
  events: { handler: string; event: Record<string, Json> }[];
  connecting: string[];
  echoLoads?: number;
}
export function fixtureState(): FixtureState {
  const g = globalThis as unknown as { __gwFixture?: FixtureState };
  g.__gwFixture ??= { events: [], connecting: [] };
  return g.__gwFixture;
}
export function recorded(handler: string): Record<string, Json>[] {
  return fixtureState()
    .events.filter((e) => e.handler === handler)
    .map((e) => e.event);
}

export const FIXTURE_ROUTES: GatewayRoute[] = [
  { routeKey: '$connect', handler: 'connect', authorized: true },
  { routeKey: '$disconnect', handler: 'disconnect' },
  { routeKey: 'echo', handler: 'echo', twoWay: true },
  { routeKey: 'oneway', handler: 'oneway' },
  { routeKey: 'boom', handler: 'boom', twoWay: true },
  { routeKey: 'slow', handler: 'slow', twoWay: true },
  { routeKey: 'envcheck', handler: 'envcheck', twoWay: true },
  { routeKey: '42', handler: 'echo', twoWay: true },
  { routeKey: 'missingBundle', handler: 'doesNotExist', twoWay: true },
  { routeKey: '$default', handler: 'default', twoWay: true },
];

export function fixtureGateway(options: Partial<LocalGatewayOptions> = {}): Promise<LocalGateway> {
  return createLocalGateway({
    port: 0,
    handlersDir: FIXTURES,
    routes: FIXTURE_ROUTES,
    authorizer: { handler: 'authorizer', identitySources: ['route.request.header.Authorization'] },
    env: { TABLE_NAME: 'fixture-table' },
    // The fixtures record what they saw in globalThis, which only this thread's modules share.
    execution: 'in-process',
    ...options,
  });
}

/** Bounded wait for a condition. */
export async function waitFor<T>(
  probe: () => T | undefined | false,
  what: string,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = probe();
    if (value) return value;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** A ws client that queues what it receives and how it was closed. */
export class TestClient {
  readonly messages: string[] = [];
  closed?: { code: number; reason: string };
  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => this.messages.push(data.toString()));
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
    });
    ws.on('error', () => {});
  }

  static open(
    url: string,
    options: { headers?: Record<string, string>; protocols?: string[] } = {},
  ): Promise<TestClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, options.protocols ?? [], { headers: options.headers ?? {} });
      const client = new TestClient(ws);
      ws.once('open', () => resolve(client));
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (c: Buffer) => {
          body += c.toString();
        });
        res.on('end', () =>
          reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode, body })),
        );
      });
      ws.once('error', (error) => reject(error));
    });
  }

  /** Resolves the status a refused handshake got. */
  static async refusal(
    url: string,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; body: string }> {
    try {
      const client = await TestClient.open(url, { headers });
      client.ws.close();
      throw new Error('handshake was accepted');
    } catch (error) {
      const e = error as { status?: number; body?: string };
      if (e.status === undefined) throw error;
      return { status: e.status, body: e.body ?? '' };
    }
  }

  send(data: unknown): void {
    this.ws.send(typeof data === 'string' ? data : JSON.stringify(data));
  }

  async next(timeoutMs = 10_000): Promise<string> {
    const message = await waitFor(() => this.messages.length > 0, 'a message', timeoutMs).then(() =>
      this.messages.shift(),
    );
    return message!;
  }

  async nextJson(timeoutMs?: number): Promise<Json> {
    return JSON.parse(await this.next(timeoutMs));
  }

  async waitClosed(timeoutMs = 10_000): Promise<{ code: number; reason: string }> {
    return waitFor(() => this.closed, 'the connection to close', timeoutMs);
  }

  close(): void {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close();
  }
}

export const ALLOW = { Authorization: 'Allow' };

/** The real AWS SDK Lambda client, pointed at a gateway's Invoke API with its credentials (no retries). */
export function localLambdaClient(
  gateway: Pick<LocalGateway, 'lambdaEndpoint' | 'credentials' | 'region'>,
): LambdaClient {
  return new LambdaClient({
    endpoint: gateway.lambdaEndpoint,
    region: gateway.region,
    credentials: gateway.credentials,
    maxAttempts: 1,
  });
}
