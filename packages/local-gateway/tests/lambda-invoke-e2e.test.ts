import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalGateway } from '../src/index.js';
import { ALLOW, type Json, localLambdaClient, TestClient } from './helpers.js';
import { startRealRelay } from './real-relay.js';

// The original demo's "Sending Messages" (aws lambda invoke of its broadcast function) against the gateway
// running the real handler bundles, through the real LambdaClient.

const DELIVERY = JSON.stringify({ operationType: 'broadcast', from: 'relay', message: 'Hello from CLI!' });

let relay: Awaited<ReturnType<typeof startRealRelay>>;
let gateway: LocalGateway;
let lambda: LambdaClient;
beforeAll(async () => {
  relay = await startRealRelay();
  gateway = relay.gateway;
  lambda = localLambdaClient(gateway);
});
afterAll(async () => {
  lambda?.destroy();
  await relay?.close();
});

const payload = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
const decoded = (bytes: Uint8Array | undefined): Json => JSON.parse(new TextDecoder().decode(bytes));

async function peers(tag: string) {
  const cli = await TestClient.open(`${gateway.url}?type=cli&cliId=cli-${tag}`, { headers: ALLOW });
  const mpc = await TestClient.open(`${gateway.url}?type=mpc&mpcId=mpc-${tag}`, { headers: ALLOW });
  return {
    cli,
    mpc,
    close: () => {
      cli.close();
      mpc.close();
    },
  };
}

describe('broadcast through the Lambda Invoke API (real bundles, real LambdaClient)', () => {
  it('the default directly invoked function is broadcast', () => {
    expect(gateway.functions).toEqual(['broadcast']);
  });

  it("the original demo's payload verbatim reaches every connected peer (cli and mpc)", async () => {
    const { cli, mpc, close } = await peers('v1');
    const result = await lambda.send(
      new InvokeCommand({
        FunctionName: 'broadcast',
        Payload: payload({
          action: 'sendmessage',
          message: 'Hello from CLI!',
          apigw_endpoint: gateway.managementEndpoint,
        }),
      }),
    );
    expect(result.StatusCode).toBe(200);
    expect(result.ExecutedVersion).toBe('$LATEST');
    expect(result.FunctionError).toBeUndefined();
    expect(decoded(result.Payload)).toEqual({ sent: 2, stale: 0, failed: 0 });
    expect(await cli.next()).toBe(DELIVERY);
    expect(await mpc.next()).toBe(DELIVERY);
    close();
  });

  it('without apigw_endpoint (MANAGEMENT_ENDPOINT of the gateway), by full name, with a type filter', async () => {
    const { cli, mpc, close } = await peers('type');
    const result = await lambda.send(
      new InvokeCommand({
        FunctionName: 'mpc-relay-broadcast',
        Payload: payload({ type: 'mpc', operationType: 'Maintenance', message: { at: 'now' } }),
      }),
    );
    // `stale` may count a connection of an earlier test whose $disconnect has not run yet.
    expect(decoded(result.Payload)).toMatchObject({ sent: 1, failed: 0 });
    expect(await mpc.nextJson()).toEqual({
      operationType: 'Maintenance',
      from: 'relay',
      message: { at: 'now' },
    });
    expect(cli.messages).toEqual([]);
    close();
  });

  it('a refused event is the function result {error} (the handler never throws)', async () => {
    const result = await lambda.send(new InvokeCommand({ FunctionName: 'broadcast', Payload: payload({}) }));
    expect(result.FunctionError).toBeUndefined();
    expect(decoded(result.Payload)).toMatchObject({ sent: 0, error: '"message" is required' });
  });

  it('an unknown function is ResourceNotFoundException; a route handler too, with the reason', async () => {
    const unknown = await lambda
      .send(new InvokeCommand({ FunctionName: 'sendMessage' }))
      .catch((e: Json) => e);
    expect(unknown.name).toBe('ResourceNotFoundException');
    expect(unknown.$metadata.httpStatusCode).toBe(404);
    const route = await lambda.send(new InvokeCommand({ FunctionName: 'sendServer' })).catch((e: Json) => e);
    expect(route.name).toBe('ResourceNotFoundException');
    expect(route.message).toContain('sendServer is a WebSocket route handler');
  });

  it('a payload that is not JSON is InvalidRequestContentException', async () => {
    const error = await lambda
      .send(
        new InvokeCommand({
          FunctionName: 'broadcast',
          Payload: new TextEncoder().encode('Hello from CLI!'),
        }),
      )
      .catch((e: Json) => e);
    expect(error.name).toBe('InvalidRequestContentException');
    expect(error.$metadata.httpStatusCode).toBe(400);
  });

  it('InvocationType Event answers 202; the broadcast arrives afterwards', async () => {
    const { cli, mpc, close } = await peers('event');
    const result = await lambda.send(
      new InvokeCommand({
        FunctionName: 'broadcast',
        InvocationType: 'Event',
        Payload: payload({ message: 'Hello from CLI!' }),
      }),
    );
    expect(result.StatusCode).toBe(202);
    expect(await cli.next()).toBe(DELIVERY);
    expect(await mpc.next()).toBe(DELIVERY);
    close();
  });
});
