import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type LocalGateway, resolveFunctionName } from '../src/index.js';
import {
  fixtureGateway,
  fixtureState,
  type Json,
  localLambdaClient,
  recorded,
  signedFetch,
  waitFor,
} from './helpers.js';

// The Lambda Invoke API of the gateway (directly invoked functions), driven by the real LambdaClient.

let gateway: LocalGateway;
let lambda: LambdaClient;
const invokeEvents: Json[] = [];
beforeAll(async () => {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  gateway = await fixtureGateway({ functions: ['notify'], limits: { handlerTimeoutMs: 300 } });
  gateway.on('invoke', (e) => invokeEvents.push(e));
  lambda = localLambdaClient(gateway);
});
afterAll(async () => {
  lambda?.destroy();
  await gateway?.close();
});
beforeEach(() => {
  fixtureState().events.length = 0;
  invokeEvents.length = 0;
});

const payload = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
const decoded = (bytes: Uint8Array | undefined): Json => JSON.parse(new TextDecoder().decode(bytes));
async function sdkError(command: InvokeCommand): Promise<Json> {
  try {
    await lambda.send(command);
  } catch (error) {
    return error;
  }
  throw new Error('the invocation succeeded');
}

describe('Lambda Invoke API (POST /2015-03-31/functions/{name}/invocations)', () => {
  it('runs the function with the JSON payload, its env and context; answers its JSON result', async () => {
    const result = await lambda.send(
      new InvokeCommand({ FunctionName: 'notify', Payload: payload({ message: 'Hello from CLI!' }) }),
    );
    expect(result.StatusCode).toBe(200);
    expect(result.ExecutedVersion).toBe('$LATEST');
    expect(result.FunctionError).toBeUndefined();
    const body = decoded(result.Payload);
    expect(body).toMatchObject({
      got: { message: 'Hello from CLI!' },
      functionName: 'mpc-relay-notify',
      env: { TABLE_NAME: 'fixture-table', MANAGEMENT_ENDPOINT: gateway.managementEndpoint },
    });
    expect(body.requestId).toBe(result.$metadata.requestId);
    expect(recorded('notify')).toEqual([{ message: 'Hello from CLI!' }]);
    expect(invokeEvents).toMatchObject([
      {
        functionName: 'notify',
        handler: 'notify',
        status: 200,
        outcome: 'ok',
        invocationType: 'RequestResponse',
      },
    ]);
  });

  it('accepts the full name, an ARN, a partial ARN and the $LATEST qualifier', async () => {
    for (const name of [
      'mpc-relay-notify',
      'mpc-relay-dev-notify',
      'arn:aws:lambda:us-east-1:000000000000:function:mpc-relay-notify',
      'arn:aws:lambda:eu-west-1:123456789012:function:notify:$LATEST',
      '000000000000:function:notify',
      'notify:$LATEST',
    ]) {
      const result = await lambda.send(new InvokeCommand({ FunctionName: name, Payload: payload({ name }) }));
      expect(decoded(result.Payload).got).toEqual({ name });
    }
    const latest = await lambda.send(new InvokeCommand({ FunctionName: 'notify', Qualifier: '$LATEST' }));
    expect(latest.StatusCode).toBe(200);
  });

  it('an invocation without a payload runs the function with {}', async () => {
    const result = await lambda.send(new InvokeCommand({ FunctionName: 'notify' }));
    expect(decoded(result.Payload).got).toEqual({});
  });

  it('a function error answers 200 with X-Amz-Function-Error: Unhandled and {errorType, errorMessage}', async () => {
    const result = await lambda.send(
      new InvokeCommand({ FunctionName: 'notify', Payload: payload({ fail: 'x' }) }),
    );
    expect(result.StatusCode).toBe(200);
    expect(result.FunctionError).toBe('Unhandled');
    expect(decoded(result.Payload)).toMatchObject({
      errorType: 'TypeError',
      errorMessage: 'failed on purpose: x',
    });
    expect(invokeEvents[0]).toMatchObject({ status: 200, outcome: 'error', errorType: 'TypeError' });
  });

  it('a function slower than its timeout is a Sandbox.Timedout function error', async () => {
    const result = await lambda.send(
      new InvokeCommand({ FunctionName: 'notify', Payload: payload({ sleepMs: 5_000 }) }),
    );
    expect(result.FunctionError).toBe('Unhandled');
    const body = decoded(result.Payload);
    expect(body.errorType).toBe('Sandbox.Timedout');
    expect(body.errorMessage).toContain('Task timed out after 0.30 seconds');
    expect(invokeEvents[0]).toMatchObject({ outcome: 'timeout' });
  });

  it('an unknown function is a 404 ResourceNotFoundException for the SDK', async () => {
    const error = await sdkError(new InvokeCommand({ FunctionName: 'nope', Payload: payload({}) }));
    expect(error.name).toBe('ResourceNotFoundException');
    expect(error.$metadata.httpStatusCode).toBe(404);
    expect(error.message).toContain(
      'Function not found: arn:aws:lambda:us-east-1:000000000000:function:nope',
    );
    expect(error.message).toContain('notify');
  });

  it('route handlers are not invokable directly: 404 naming them route handlers, never run', async () => {
    for (const name of ['echo', 'mpc-relay-connect', 'authorizer']) {
      const error = await sdkError(new InvokeCommand({ FunctionName: name, Payload: payload({}) }));
      expect(error.name).toBe('ResourceNotFoundException');
      expect(error.message).toContain('is a WebSocket route handler');
    }
    expect(fixtureState().events).toEqual([]);
  });

  it('another qualifier than $LATEST is not found (no versions locally)', async () => {
    const error = await sdkError(new InvokeCommand({ FunctionName: 'notify', Qualifier: '3' }));
    expect(error.name).toBe('ResourceNotFoundException');
    expect(error.message).toContain('only $LATEST');
  });

  it('a payload that is not JSON is a 400 InvalidRequestContentException (SDK and raw HTTP)', async () => {
    const error = await sdkError(
      new InvokeCommand({ FunctionName: 'notify', Payload: new TextEncoder().encode('{not json') }),
    );
    expect(error.name).toBe('InvalidRequestContentException');
    expect(error.$metadata.httpStatusCode).toBe(400);
    const raw = await signedFetch(
      gateway,
      `${gateway.lambdaEndpoint}/2015-03-31/functions/notify/invocations`,
      {
        method: 'POST',
        body: 'Hello',
      },
    );
    expect(raw.status).toBe(400);
    expect(raw.headers.get('x-amzn-errortype')).toBe('InvalidRequestContentException');
    expect(((await raw.json()) as Json).message).toContain('Could not parse request body into json');
    expect(fixtureState().events).toEqual([]);
  });

  it('InvocationType Event answers 202 at once and runs the function in the background', async () => {
    const result = await lambda.send(
      new InvokeCommand({ FunctionName: 'notify', InvocationType: 'Event', Payload: payload({ n: 1 }) }),
    );
    expect(result.StatusCode).toBe(202);
    expect(result.Payload?.length ?? 0).toBe(0);
    await waitFor(() => recorded('notify').length === 1, 'the background invocation');
    expect(recorded('notify')).toEqual([{ n: 1 }]);
    await waitFor(() => invokeEvents.length === 1, 'the invoke event');
    expect(invokeEvents[0]).toMatchObject({ status: 202, outcome: 'ok', invocationType: 'Event' });
  });

  it('a failing Event invocation still answers 202; the failure is reported as an event', async () => {
    const result = await lambda.send(
      new InvokeCommand({
        FunctionName: 'notify',
        InvocationType: 'Event',
        Payload: payload({ fail: 'bg' }),
      }),
    );
    expect(result.StatusCode).toBe(202);
    await waitFor(() => invokeEvents.length === 1, 'the invoke event');
    expect(invokeEvents[0]).toMatchObject({ status: 202, outcome: 'error', errorType: 'TypeError' });
  });

  it('DryRun answers 204 without running the function', async () => {
    const result = await lambda.send(new InvokeCommand({ FunctionName: 'notify', InvocationType: 'DryRun' }));
    expect(result.StatusCode).toBe(204);
    expect(fixtureState().events).toEqual([]);
  });

  it('an Event payload above 1 MB is a 413 RequestTooLargeException', async () => {
    const big = payload({ pad: 'x'.repeat(1_048_576) });
    const error = await sdkError(
      new InvokeCommand({ FunctionName: 'notify', InvocationType: 'Event', Payload: big }),
    );
    expect(error.name).toBe('RequestTooLargeException');
    expect(error.$metadata.httpStatusCode).toBe(413);
  });

  it('an unsigned or wrongly signed invocation is refused (403) and the function never runs', async () => {
    const url = `${gateway.lambdaEndpoint}/2015-03-31/functions/notify/invocations`;
    const unsigned = await fetch(url, { method: 'POST', body: '{}' });
    expect([unsigned.status, unsigned.headers.get('x-amzn-errortype')]).toEqual([
      403,
      'MissingAuthenticationTokenException',
    ]);
    const wrong = await signedFetch(gateway, url, { method: 'POST', body: '{}' }, 'not-the-secret');
    expect([wrong.status, wrong.headers.get('x-amzn-errortype')]).toEqual([403, 'InvalidSignatureException']);
    expect(((await wrong.json()) as Json).message).toContain(
      'The Canonical String for this request should have been',
    );
    expect(fixtureState().events).toEqual([]);
  });

  it('other methods and paths of the Lambda API are UnknownOperationException; the management API is untouched', async () => {
    const get = await signedFetch(
      gateway,
      `${gateway.lambdaEndpoint}/2015-03-31/functions/notify/invocations`,
    );
    expect(get.status).toBe(404);
    expect(get.headers.get('x-amzn-errortype')).toBe('UnknownOperationException');
    const list = await signedFetch(gateway, `${gateway.lambdaEndpoint}/2015-03-31/functions/`);
    expect(list.headers.get('x-amzn-errortype')).toBe('UnknownOperationException');
    const management = await signedFetch(gateway, `${gateway.managementEndpoint}/@connections/unknown=`);
    expect(management.status).toBe(410);
  });

  it('functions: [] switches the Invoke API off (every name is not found)', async () => {
    const closed = await fixtureGateway({ functions: [] });
    const client = localLambdaClient(closed);
    try {
      const error = await client.send(new InvokeCommand({ FunctionName: 'notify' })).catch((e: unknown) => e);
      expect((error as Error).name).toBe('ResourceNotFoundException');
      expect((error as Error).message).toContain('functions invoked directly here: none');
    } finally {
      client.destroy();
      await closed.close();
    }
  });
});

describe('resolveFunctionName', () => {
  const handlers = ['broadcast'];
  it('maps names and ARNs to the handler', () => {
    expect(resolveFunctionName('broadcast', handlers)).toEqual({ handler: 'broadcast' });
    expect(resolveFunctionName('mpc-relay-prod-broadcast', handlers)).toEqual({ handler: 'broadcast' });
    expect(resolveFunctionName('arn:aws:lambda:us-east-1:1:function:x', handlers)).toBeUndefined();
    expect(
      resolveFunctionName(
        'arn:aws:lambda:us-east-1:123456789012:function:mpc-relay-broadcast:prod',
        handlers,
      ),
    ).toEqual({ handler: 'broadcast', qualifier: 'prod' });
    expect(resolveFunctionName('broadcaster', handlers)).toBeUndefined();
    expect(resolveFunctionName('a:b:c', handlers)).toBeUndefined();
  });
});
