import { InvokeCommand } from '@aws-sdk/client-lambda';
import { afterEach, describe, expect, it } from 'vitest';
import { lambdaHeapLimits } from '../src/environments.js';
import type { GatewayEvents, LocalGateway, LocalGatewayOptions } from '../src/index.js';
import {
  ALLOW,
  FIXTURE_ROUTES,
  fixtureGateway,
  type Json,
  localLambdaClient,
  TestClient,
  waitFor,
} from './helpers.js';

// Lambda's execution model: every gateway here runs its handlers in execution environments
// (worker threads), the default outside the fixture helper.
const ROUTES = [
  ...FIXTURE_ROUTES,
  { routeKey: 'state', handler: 'state', twoWay: true },
  { routeKey: 'crash', handler: 'crash', twoWay: true },
  { routeKey: 'hog', handler: 'hog', twoWay: true },
];

let gateway: LocalGateway | undefined;
const clients: TestClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await gateway?.close();
  gateway = undefined;
});

async function start(options: Partial<LocalGatewayOptions> = {}) {
  gateway = await fixtureGateway({ execution: 'environments', routes: ROUTES, ...options });
  const routes: GatewayEvents['route'][0][] = [];
  gateway.on('route', (r) => routes.push(r));
  return { gateway, routes };
}

async function client(url: string): Promise<TestClient> {
  const c = await TestClient.open(url, { headers: ALLOW });
  clients.push(c);
  return c;
}

const stateRoutes = (routes: GatewayEvents['route'][0][]) => routes.filter((r) => r.routeKey === 'state');

describe('execution environments', () => {
  it('two concurrent invocations run in two environments that share no module state', async () => {
    const { gateway: gw } = await start();
    const a = await client(gw.url);
    const b = await client(gw.url);
    a.send({ action: 'state', ms: 300, tag: 'a' });
    b.send({ action: 'state', ms: 300, tag: 'b' });
    const [ra, rb] = [await a.nextJson(), await b.nextJson()];
    expect(ra.instance).not.toBe(rb.instance);
    expect(ra.threadId).not.toBe(rb.threadId);
    // Each module instance saw only its own invocation.
    expect([ra.calls, rb.calls]).toEqual([1, 1]);
    expect(ra.context.logStreamName).not.toBe(rb.context.logStreamName);
    expect(gw.environments().state).toBe(2);

    // The next one reuses a warm environment: its module state carries on.
    a.send({ action: 'state' });
    const warm = await a.nextJson();
    expect([ra.instance, rb.instance]).toContain(warm.instance);
    expect(warm.calls).toBe(2);
  });

  it('the most recently used idle environment takes the next invocation', async () => {
    const { gateway: gw } = await start();
    const a = await client(gw.url);
    const b = await client(gw.url);
    a.send({ action: 'state', ms: 600, tag: 'a' });
    b.send({ action: 'state', ms: 50, tag: 'b' });
    const [slow, fast] = [await a.nextJson(), await b.nextJson()];
    expect(slow.instance).not.toBe(fast.instance);
    // The slow one was released last, whichever of the two was started first.
    b.send({ action: 'state' });
    expect((await b.nextJson()).instance).toBe(slow.instance);
  });

  it('gives each environment the context and environment variables Lambda gives', async () => {
    const { gateway: gw } = await start({ limits: { handlerTimeoutMs: 5000 } });
    const c = await client(gw.url);
    c.send({ action: 'state' });
    const r = await c.nextJson();
    expect(r.context).toMatchObject({
      functionName: 'mpc-relay-state',
      functionVersion: '$LATEST',
      invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:mpc-relay-state',
      memoryLimitInMB: '256',
      logGroupName: '/aws/lambda/mpc-relay-state',
    });
    expect(r.context.logStreamName).toMatch(/^\d{4}\/\d{2}\/\d{2}\/\[\$LATEST\][0-9a-f]{32}$/);
    expect(r.context.awsRequestId).toMatch(/./);
    expect(r.context.remaining).toBeGreaterThan(0);
    expect(r.context.remaining).toBeLessThanOrEqual(5000);
    expect(r.env).toEqual({
      TABLE_NAME: 'fixture-table',
      AWS_LAMBDA_FUNCTION_NAME: 'mpc-relay-state',
      AWS_LAMBDA_LOG_STREAM_NAME: r.context.logStreamName,
      AWS_REGION: 'us-east-1',
    });
  });

  it('a cold start is visible: INIT duration on the first invocation, after a reload and after the idle timeout', async () => {
    const { gateway: gw, routes } = await start({ environments: { idleTimeoutMs: 300 } });
    const c = await client(gw.url);
    const call = async () => {
      c.send({ action: 'state' });
      const body = await c.nextJson();
      await waitFor(() => stateRoutes(routes).length > 0, 'the route event');
      return { body, route: stateRoutes(routes.splice(0)).at(-1)! };
    };
    const first = await call();
    expect(first.route.initDurationMs).toBeGreaterThan(0);
    const second = await call();
    expect(second.route.initDurationMs).toBeUndefined();
    expect(second.body.instance).toBe(first.body.instance);

    gw.reloadHandlers();
    const afterReload = await call();
    expect(afterReload.route.initDurationMs).toBeGreaterThan(0);
    expect(afterReload.body.instance).not.toBe(first.body.instance);

    await waitFor(() => gw.environments().state === 0, 'the idle environment to stop');
    const afterIdle = await call();
    expect(afterIdle.route.initDurationMs).toBeGreaterThan(0);
    expect(afterIdle.body.instance).not.toBe(afterReload.body.instance);
  });

  it('a reload lets the running invocation finish on the old code, keeps the connection', async () => {
    const { gateway: gw } = await start();
    const c = await client(gw.url);
    c.send({ action: 'state', ms: 300, tag: 'old' });
    await waitFor(() => gw.environments().state === 1, 'the environment to start');
    gw.reloadHandlers();
    c.send({ action: 'state', tag: 'new' });
    // The new invocation ran in a new environment; the old one still answered, then was retired.
    const answers = [await c.nextJson(), await c.nextJson()];
    const old = answers.find((a) => a.tag === 'old');
    const fresh = answers.find((a) => a.tag === 'new');
    expect(old && fresh).toBeTruthy();
    expect(fresh.instance).not.toBe(old.instance);
    await waitFor(() => gw.environments().state === 1, 'the retired environment to stop');
    expect(c.closed).toBeUndefined();
  });

  it('reserved concurrency holds: the invocation over it is throttled, the one in flight completes', async () => {
    const { gateway: gw, routes } = await start({ environments: { reservedConcurrency: { state: 1 } } });
    const a = await client(gw.url);
    const b = await client(gw.url);
    a.send({ action: 'state', ms: 400, tag: 'in-flight' });
    await waitFor(() => gw.environments().state === 1, 'the first invocation to start');
    b.send({ action: 'state', tag: 'over' });
    // What API Gateway sends when the integration fails (a Lambda throttle is one).
    const throttled = JSON.parse(await b.next());
    expect(throttled).toMatchObject({ message: 'Internal server error' });
    expect(a.messages).toEqual([]); // the refusal came first: the first invocation was still running
    expect((await a.nextJson()).tag).toBe('in-flight');
    const outcomes = stateRoutes(routes).map((r) => r.outcome);
    expect(outcomes).toEqual(['throttled', 'ok']);
    expect(gw.environments().state).toBe(1);
  });

  it('throttles the Lambda Invoke API with 429 TooManyRequestsException', async () => {
    const { gateway: gw } = await start({
      functions: ['state'],
      routes: FIXTURE_ROUTES,
      environments: { reservedConcurrency: 1 },
    });
    const lambda = localLambdaClient(gw);
    const slow = lambda.send(
      new InvokeCommand({ FunctionName: 'state', Payload: JSON.stringify({ body: '{"ms":400}' }) }),
    );
    await waitFor(() => gw.environments().state === 1, 'the first invocation to start');
    const error = (await lambda
      .send(new InvokeCommand({ FunctionName: 'state', Payload: JSON.stringify({ body: '{}' }) }))
      .then(
        () => undefined,
        (e: unknown) => e,
      )) as Json;
    expect(error?.name).toBe('TooManyRequestsException');
    expect(error?.$metadata?.httpStatusCode).toBe(429);
    expect(error?.Reason).toBe('ReservedFunctionConcurrentInvocationLimitExceeded');
    const done = await slow;
    expect(done.FunctionError).toBeUndefined();
  });

  it('waits for a free environment past the local cap instead of throttling', async () => {
    const { gateway: gw } = await start({ environments: { maxEnvironments: 1 } });
    const a = await client(gw.url);
    const b = await client(gw.url);
    a.send({ action: 'state', ms: 200, tag: 'a' });
    await waitFor(() => gw.environments().state === 1, 'the first invocation to start');
    b.send({ action: 'state', tag: 'b' });
    const [ra, rb] = [await a.nextJson(), await b.nextJson()];
    expect(rb.instance).toBe(ra.instance);
    expect(rb.calls).toBe(2);
  });

  it('an environment whose runtime exits fails that invocation; the next one gets a fresh environment', async () => {
    const { gateway: gw, routes } = await start();
    const c = await client(gw.url);
    c.send({ action: 'crash', exit: false });
    const before = await c.nextJson();
    c.send({ action: 'crash', exit: true });
    expect(JSON.parse(await c.next())).toMatchObject({ message: 'Internal server error' });
    c.send({ action: 'crash', exit: false });
    const after = await c.nextJson();
    expect(after.instance).not.toBe(before.instance);
    const crash = routes.filter((r) => r.routeKey === 'crash');
    expect(crash.map((r) => r.outcome)).toEqual(['ok', 'error', 'ok']);
    expect(crash[1]?.error).toMatch(/Runtime exited/);
    expect(crash[2]?.initDurationMs).toBeGreaterThan(0);
  });

  it("an environment's heap follows memoryMb as Lambda's runtime sizes it; one that outgrows it dies with Runtime.OutOfMemory", async () => {
    const { gateway: gw, routes } = await start({ environments: { memoryMb: 128 }, functions: ['hog'] });
    // 128 MB: old space 116 MB, young generation 3 x 6 MB (Lambda: --max-semi-space-size=6).
    expect(lambdaHeapLimits(128)).toEqual({ maxOldGenerationSizeMb: 116, maxYoungGenerationSizeMb: 18 });
    expect(lambdaHeapLimits(256)).toEqual({ maxOldGenerationSizeMb: 231, maxYoungGenerationSizeMb: 36 });
    const c = await client(gw.url);
    c.send({ action: 'hog' });
    const before = await c.nextJson();
    // V8 adds a little headroom above the two limits; the default heap would be gigabytes.
    expect(before.heapLimitMb).toBeGreaterThanOrEqual(116 + 18);
    expect(before.heapLimitMb).toBeLessThan(160);
    c.send({ action: 'hog', fill: true });
    // Filling 116 MB takes a second on a quiet machine, far longer on a loaded one.
    expect(JSON.parse(await c.next(60_000))).toMatchObject({ message: 'Internal server error' });
    c.send({ action: 'hog' });
    const after = await c.nextJson();
    expect(after.instance).not.toBe(before.instance);
    const hog = routes.filter((r) => r.routeKey === 'hog');
    expect(hog.map((r) => r.outcome)).toEqual(['ok', 'error', 'ok']);
    expect(hog[1]?.error).toBe('Runtime exited with error: signal: killed');
    expect(hog[2]?.initDurationMs).toBeGreaterThan(0);

    // The Lambda Invoke API reports it as Lambda does: a function error of type Runtime.OutOfMemory.
    const lambda = localLambdaClient(gw);
    const out = await lambda.send(
      new InvokeCommand({ FunctionName: 'hog', Payload: JSON.stringify({ body: '{"fill":true}' }) }),
    );
    expect(out.FunctionError).toBe('Unhandled');
    expect(JSON.parse(new TextDecoder().decode(out.Payload))).toMatchObject({
      errorType: 'Runtime.OutOfMemory',
      errorMessage: 'Runtime exited with error: signal: killed',
    });
  }, 150_000);

  it('a timed-out invocation stops its environment (the next one is a cold start)', async () => {
    const { gateway: gw, routes } = await start({ limits: { handlerTimeoutMs: 300 } });
    const c = await client(gw.url);
    c.send({ action: 'state', tag: 'warm' });
    const warm = await c.nextJson();
    c.send({ action: 'state', ms: 2000, tag: 'late' });
    expect(JSON.parse(await c.next())).toMatchObject({ message: 'Internal server error' });
    c.send({ action: 'state', tag: 'fresh' });
    const fresh = await c.nextJson();
    expect(fresh.instance).not.toBe(warm.instance);
    expect(stateRoutes(routes).map((r) => r.outcome)).toEqual(['ok', 'timeout', 'ok']);
    // Nothing from the stopped environment ever arrives.
    expect(c.messages).toEqual([]);
  });
});
