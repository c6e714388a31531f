import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebSocketEvent, WebSocketResult } from '../src/events.js';
import type { BroadcastEvent, BroadcastResult } from '../src/handlers/broadcast.js';
import { type DynaliteServer, startDynalite } from './helpers/dynalite.js';
import {
  authorizerEvent,
  connectEvent,
  disconnectEvent,
  messageEvent,
  newConnectionId,
} from './helpers/events.js';
import { fullSig } from './helpers/frames.js';
import { useLogCapture } from './helpers/logs.js';
import { type FakeManagementApi, startManagementApi } from './helpers/management.js';

// EMF lines on for this file (tests/setup.ts disables them): the metrics module reads the variable
// when it is loaded, so everything that imports it is loaded in beforeAll, after this line.
process.env.POWERTOOLS_METRICS_DISABLED = 'false';

type Entry = Record<string, unknown>;
type Route = (event: WebSocketEvent, context?: Context) => Promise<WebSocketResult>;

/** A Lambda context as the runtime passes it (the fields Powertools' logger reads). */
function lambdaContext(functionName: string): Context {
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${functionName}`,
    memoryLimitInMB: '256',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: '2026/12/01/[$LATEST]0123456789abcdef',
    getRemainingTimeInMillis: () => 3000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

// Each kind's wrapper around a body that fails: the context fields on every line, the metrics
// flushed even though the body threw, and the answer that kind must give instead of the error.
describe('handler wrappers', () => {
  const { lines, capture } = useLogCapture();
  const entries = (): Entry[] =>
    lines.flatMap((line) => line.split('\n').filter(Boolean)).map((line) => JSON.parse(line) as Entry);
  const logLine = (message: string) => entries().find((entry) => entry.message === message);
  const emfLines = () => entries().filter((entry) => '_aws' in entry);

  let wrappers: {
    messageRoute: typeof import('../src/wrappers/message-route.js').messageRoute;
    connectionRoute: typeof import('../src/wrappers/connection-route.js').connectionRoute;
    requestAuthorizer: typeof import('../src/wrappers/authorizer.js').requestAuthorizer;
    directInvocation: typeof import('../src/wrappers/direct-invocation.js').directInvocation;
    count: typeof import('../src/metrics.js').count;
    logger: typeof import('../src/logger.js').logger;
  };
  beforeAll(async () => {
    wrappers = {
      ...(await import('../src/wrappers/message-route.js')),
      ...(await import('../src/wrappers/connection-route.js')),
      ...(await import('../src/wrappers/authorizer.js')),
      ...(await import('../src/wrappers/direct-invocation.js')),
      ...(await import('../src/metrics.js')),
      ...(await import('../src/logger.js')),
    };
  });

  it('message route: the event and Lambda context on every line, metrics flushed, INTERNAL frame for a throw', async () => {
    const { messageRoute, count, logger } = wrappers;
    const route = messageRoute(async () => {
      count('MessagesDelivered');
      logger.info('before the failure');
      throw new Error('DynamoDB is down');
    });
    const context = lambdaContext('relay-sendServer');
    const connectionId = newConnectionId();
    const event = messageEvent({
      connectionId,
      routeKey: 'sendServer',
      body: '{"action":"sendServer"}',
      peer: { type: 'mpc', id: 'wrap-mpc' },
    });
    capture();
    const result = await route(event, context);

    expect(result.statusCode).toBe(200);
    expect(JSON.parse(result.body ?? '')).toEqual({
      error: { code: 'INTERNAL', message: expect.stringContaining('safe to retry') },
    });
    const keys = {
      connectionId,
      routeKey: 'sendServer',
      requestId: event.requestContext.requestId,
      peerType: 'mpc',
      peerId: 'wrap-mpc',
      function_name: 'relay-sendServer',
      function_request_id: context.awsRequestId,
      cold_start: expect.any(Boolean),
    };
    expect(logLine('before the failure')).toMatchObject(keys);
    expect(logLine('unexpected failure')).toMatchObject({
      ...keys,
      level: 'ERROR',
      outcome: 'internal',
      errorName: 'Error',
      errorMessage: 'DynamoDB is down',
    });
    expect(emfLines()).toHaveLength(1);
    expect(emfLines()[0]).toMatchObject({ MessagesDelivered: 1, service: 'mpc-relay' });
  });

  it('message route: a warm container does not carry the previous invocation keys over; no metric, no EMF line', async () => {
    const { messageRoute, logger } = wrappers;
    const route = messageRoute(async () => {
      logger.info('handled');
      return { statusCode: 200 };
    });
    capture();
    await route(
      messageEvent({
        connectionId: newConnectionId(),
        routeKey: 'ping',
        body: '{}',
        peer: { type: 'cli', id: 'first' },
      }),
      lambdaContext('relay-ping'),
    );
    // No authorizer context on the second event: the first one's peer must not show up.
    const second = newConnectionId();
    await route(messageEvent({ connectionId: second, routeKey: 'ping', body: '{}' }));
    const handled = entries().filter((entry) => entry.message === 'handled');
    expect(handled).toHaveLength(2);
    expect(handled[0]).toMatchObject({ peerId: 'first', cold_start: expect.any(Boolean) });
    expect(handled[1]).toMatchObject({ connectionId: second, routeKey: 'ping' });
    expect(handled[1]).not.toHaveProperty('peerId');
    expect(emfLines()).toEqual([]);
  });

  it('$connect / $disconnect: the failure answer the route was given, metrics flushed', async () => {
    const { connectionRoute, count } = wrappers;
    const failing = (statusCode: number) =>
      connectionRoute(
        { message: 'connection route failed', answer: { statusCode, body: 'refused' } },
        async () => {
          count('ConnectionsOverLimit');
          throw new Error('boom');
        },
      );
    const connectionId = newConnectionId();
    capture();
    const connect = await failing(500)(
      connectEvent({
        connectionId,
        query: { type: 'cli', cliId: 'wrap-cli' },
        peer: { type: 'cli', id: 'wrap-cli' },
      }),
      lambdaContext('relay-connect'),
    );
    expect(connect).toEqual({ statusCode: 500, body: 'refused' });
    expect(logLine('connection route failed')).toMatchObject({
      level: 'ERROR',
      outcome: 'internal',
      connectionId,
      routeKey: '$connect',
      peerType: 'cli',
      peerId: 'wrap-cli',
      function_name: 'relay-connect',
    });
    expect(
      await failing(200)(disconnectEvent({ connectionId, peer: { type: 'cli', id: 'wrap-cli' } })),
    ).toEqual({
      statusCode: 200,
      body: 'refused',
    });
    expect(emfLines().map((entry) => entry.ConnectionsOverLimit)).toEqual([1, 1]);
  });

  it('authorizer: Allow and Deny policies for the method ARN, 401 as an exact Unauthorized error, a throw denies', async () => {
    const { requestAuthorizer, logger } = wrappers;
    const decide = async (event: { headers?: Record<string, string | undefined> | null }) => {
      logger.info('deciding');
      const value = event.headers?.Authorization;
      if (value === 'Allow')
        return { effect: 'allow' as const, principalId: 'cli:a', context: { peerType: 'cli' } };
      if (value === 'Deny') return { effect: 'deny' as const, reason: 'said Deny' };
      if (value === undefined) return { effect: 'unauthorized' as const };
      throw new Error(`key source down for ${value.length} chars`);
    };
    const authorizer = requestAuthorizer(decide);
    const connectionId = newConnectionId();
    const event = (headers: Record<string, string>) =>
      authorizerEvent({ connectionId, query: { type: 'cli', cliId: 'a' }, headers });
    const context = lambdaContext('relay-authorizer');
    capture();

    const allowed = await authorizer(event({ Authorization: 'Allow' }), context);
    const arn = event({}).methodArn;
    expect(allowed).toEqual({
      principalId: 'cli:a',
      policyDocument: {
        Version: '2012-10-17',
        Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: arn }],
      },
      context: { peerType: 'cli' },
    });
    const denied = await authorizer(event({ Authorization: 'Deny' }), context);
    expect(denied.policyDocument.Statement[0]?.Effect).toBe('Deny');
    expect(denied.context).toEqual({ reason: 'said Deny' });
    // API Gateway turns only this exact message into 401.
    await expect(authorizer(event({}), context)).rejects.toThrow(/^Unauthorized$/);
    const failed = await authorizer(event({ Authorization: 'Bearer broken' }), context);
    expect(failed.policyDocument.Statement[0]).toMatchObject({ Effect: 'Deny', Resource: arn });
    expect(failed.context).toEqual({ reason: 'authorizer failure' });

    expect(logLine('deciding')).toMatchObject({
      connectionId,
      routeKey: '$connect',
      handler: 'authorizer',
      function_name: 'relay-authorizer',
    });
    expect(logLine('authorizer failed')).toMatchObject({
      level: 'ERROR',
      outcome: 'deny',
      errorMessage: 'key source down for 13 chars',
      connectionId,
    });
    // The authorizer counts no metric and does not load the metrics library.
    expect(emfLines()).toEqual([]);
  });

  it('direct invocation: the function name as the log key, metrics flushed, the failure result instead of a throw', async () => {
    const { directInvocation, count, logger } = wrappers;
    const invoke = directInvocation(
      {
        name: 'broadcast',
        failureMessage: 'broadcast failed',
        failureResult: () => ({ sent: 0, error: 'internal' }),
      },
      async (event: { fail: boolean }) => {
        count('BroadcastSent', 3);
        logger.info('posting');
        if (event.fail) throw new Error('management API down');
        return { sent: 3 };
      },
    );
    const context = lambdaContext('relay-broadcast');
    capture();
    expect(await invoke({ fail: false }, context)).toEqual({ sent: 3 });
    expect(await invoke({ fail: true }, context)).toEqual({ sent: 0, error: 'internal' });
    expect(logLine('posting')).toMatchObject({ handler: 'broadcast', function_name: 'relay-broadcast' });
    expect(logLine('broadcast failed')).toMatchObject({
      level: 'ERROR',
      outcome: 'internal',
      handler: 'broadcast',
      errorMessage: 'management API down',
    });
    expect(emfLines().map((entry) => entry.BroadcastSent)).toEqual([3, 3]);
  });
});

// The real handlers, on a dynalite without the relay table (DynamoDB failing every request):
// each kind answers what it must, nothing thrown to the runtime.
describe('handlers when DynamoDB fails', () => {
  let dynalite: DynaliteServer;
  let management: FakeManagementApi;
  const handlers = {} as {
    connect: Route;
    disconnect: Route;
    sendServer: Route;
    authorizer: typeof import('../src/handlers/authorizer.js').handler;
    broadcast: (event: BroadcastEvent, context?: Context) => Promise<BroadcastResult>;
  };
  const saved = { ...process.env };
  beforeAll(async () => {
    dynalite = await startDynalite('mpc-relay-wrappers');
    management = await startManagementApi('production');
    Object.assign(process.env, {
      TABLE_NAME: 'no-such-table',
      DYNAMODB_ENDPOINT: dynalite.endpoint,
      MANAGEMENT_ENDPOINT: management.endpoint,
    });
    for (const name of ['connect', 'disconnect', 'sendServer', 'authorizer', 'broadcast'] as const) {
      const module = (await import(`../src/handlers/${name}.ts`)) as { handler: never };
      handlers[name] = module.handler;
    }
  });
  afterAll(async () => {
    process.env = saved;
    await management?.close();
    await dynalite?.close();
  });

  const peer = { type: 'cli' as const, id: 'down-cli' };

  it('$connect answers 500 with an INTERNAL frame', async () => {
    const result = await handlers.connect(
      connectEvent({ connectionId: newConnectionId(), query: { type: 'cli', cliId: peer.id }, peer }),
      lambdaContext('relay-connect'),
    );
    expect(result.statusCode).toBe(500);
    expect(JSON.parse(result.body ?? '')).toMatchObject({ error: { code: 'INTERNAL' } });
  });

  it('$disconnect answers 200 (best effort)', async () => {
    expect(await handlers.disconnect(disconnectEvent({ connectionId: newConnectionId(), peer }))).toEqual({
      statusCode: 200,
    });
  });

  it('sendServer (a cli reply: its mapping GetItem fails) answers an INTERNAL error frame with status 200, nothing posted', async () => {
    const result = await handlers.sendServer(
      messageEvent({
        connectionId: newConnectionId(),
        routeKey: 'sendServer',
        body: JSON.stringify(fullSig(peer.id)),
        peer,
      }),
    );
    expect(result.statusCode).toBe(200);
    expect(JSON.parse(result.body ?? '')).toMatchObject({ error: { code: 'INTERNAL' } });
    expect(management.posts).toEqual([]);
  });

  it('broadcast returns an error result, nothing posted', async () => {
    expect(await handlers.broadcast({ message: 'hello' })).toEqual({
      sent: 0,
      stale: 0,
      failed: 0,
      error: 'internal error (see logs)',
    });
    expect(management.posts).toEqual([]);
  });

  it('the authorizer with an unknown AUTH_MODE denies (fail closed)', async () => {
    process.env.AUTH_MODE = 'bogus';
    try {
      const result = await handlers.authorizer(
        authorizerEvent({ query: { type: 'cli', cliId: peer.id }, headers: { Authorization: 'Allow' } }),
      );
      expect(result.policyDocument.Statement[0]?.Effect).toBe('Deny');
      expect(result.context).toEqual({ reason: 'authorizer failure' });
    } finally {
      process.env.AUTH_MODE = 'static';
    }
  });
});
