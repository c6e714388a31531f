import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { FunctionThrottled } from './environments.js';
import { type Emit, errorMessage } from './events.js';
import { localFunctionName } from './ids.js';
import { HandlerTimeout, type Invoke } from './invoke.js';
import { authErrorResponse, type SigV4Verifier } from './sigv4.js';

/** The Lambda Invoke API path: `/2015-03-31/functions/{FunctionName}/invocations`. */
const INVOKE_PATH = /^\/2015-03-31\/functions\/([^/]+)\/invocations\/?$/;
const API_PREFIX = '/2015-03-31/functions';

/** Lambda's payload quotas: 6 MB synchronous (request and response), 1 MB asynchronous. */
export const SYNC_PAYLOAD_BYTES = 6_291_456;
export const ASYNC_PAYLOAD_BYTES = 1_048_576;

export type InvocationType = 'RequestResponse' | 'Event' | 'DryRun';

export interface LambdaApiDependencies {
  /** Handlers that can be invoked (directly invoked functions, e.g. `broadcast`). */
  functions: readonly string[];
  /** Handlers of routes and the authorizer: named in the refusal, never run. */
  routeHandlers: readonly string[];
  region: string;
  accountId: string;
  handlerTimeoutMs: number;
  invoke: Invoke;
  emit: Emit;
  /** Keeps background (`Event`) invocations for close() to wait on. */
  track: <T>(promise: Promise<T>) => Promise<T>;
  /** Service `lambda`: every call needs a signature made with the gateway's credentials. */
  verifier: SigV4Verifier;
}

/** True for the paths of the Lambda API (the gateway's stage can never be `2015-03-31`). */
export function isLambdaApiPath(url: string | undefined): boolean {
  const path = (url ?? '/').split('?')[0] ?? '/';
  return path === API_PREFIX || path.startsWith(`${API_PREFIX}/`);
}

/**
 * Which handler a FunctionName names: the handler name (`broadcast`), its local function name
 * (`mpc-relay-broadcast`), any name ending in `-broadcast` (a deployed stack's name), or an ARN /
 * partial ARN (`123456789012:function:NAME`) with one of those; `:$LATEST` as qualifier is accepted.
 * Returns the handler and the qualifier, or undefined.
 */
export function resolveFunctionName(
  raw: string,
  handlers: readonly string[],
): { handler: string; qualifier?: string } | undefined {
  let name = raw;
  let qualifier: string | undefined;
  const arn = /^(?:arn:aws[a-z-]*:lambda:[a-z0-9-]+:)?(?:\d{12}:)?function:([^:]+)(?::([^:]+))?$/.exec(raw);
  if (arn) {
    name = arn[1]!;
    qualifier = arn[2];
  } else if (raw.includes(':')) {
    const [base, q, ...rest] = raw.split(':');
    if (rest.length > 0 || !base || !q) return undefined;
    name = base;
    qualifier = q;
  }
  const handler = handlers.find((h) => name === h || name.endsWith(`-${h}`));
  return handler ? { handler, ...(qualifier !== undefined ? { qualifier } : {}) } : undefined;
}

/**
 * The Lambda Invoke API (`POST /2015-03-31/functions/{FunctionName}/invocations`) for the directly
 * invoked functions, so `aws lambda invoke --endpoint-url` and the SDK's `InvokeCommand` work
 * locally. Like IAM on AWS, a call needs a valid SigV4 signature (service `lambda`), checked first.
 */
export function createLambdaApi(deps: LambdaApiDependencies) {
  const { functions, routeHandlers, region, accountId, handlerTimeoutMs, invoke, emit, track, verifier } =
    deps;
  const arnOf = (name: string) => `arn:aws:lambda:${region}:${accountId}:function:${name}`;

  return async function handleInvoke(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = Date.now();
    const requestId = randomUUID();
    const url = new URL(req.url ?? '/', 'http://localhost');
    const match = INVOKE_PATH.exec(url.pathname);
    const rawName = match ? safeDecode(match[1]!) : '';
    const header = req.headers['x-amz-invocation-type'];
    const invocationType = (Array.isArray(header) ? header[0] : header) ?? 'RequestResponse';
    const report = (
      status: number,
      outcome: 'ok' | 'error' | 'timeout' | 'refused',
      extra: { handler?: string; errorType?: string; error?: string; initDurationMs?: number } = {},
    ) =>
      emit('invoke', {
        functionName: rawName,
        requestId,
        invocationType,
        status,
        outcome,
        durationMs: Date.now() - started,
        ...Object.fromEntries(Object.entries(extra).filter(([, v]) => v !== undefined)),
      });
    const refuse = (status: number, errorType: string, message: string) => {
      sendLambdaError(res, status, errorType, message, requestId);
      report(status, 'refused', { errorType });
    };
    const tooLarge = (max: number, handler?: string) => {
      sendLambdaError(
        res,
        413,
        'RequestTooLargeException',
        `Request must be smaller than ${max} bytes for the InvokeFunction operation`,
        requestId,
      );
      report(413, 'refused', { ...(handler ? { handler } : {}), errorType: 'RequestTooLargeException' });
    };

    const body = await readBody(req, SYNC_PAYLOAD_BYTES);
    if (body === 'too-large') {
      tooLarge(SYNC_PAYLOAD_BYTES);
      return;
    }
    const verdict = await verifier.verify({
      method: req.method ?? 'POST',
      url: req.url ?? '/',
      headers: req.headers,
      body,
    });
    if (!verdict.ok) {
      const answer = authErrorResponse('lambda', verdict, requestId);
      res.writeHead(answer.status, answer.headers);
      res.end(answer.body);
      report(answer.status, 'refused', { errorType: verdict.code });
      return;
    }
    if (!match || req.method !== 'POST') {
      refuse(404, 'UnknownOperationException', 'Unknown operation (the local Lambda API serves Invoke only)');
      return;
    }
    const resolved = resolveFunctionName(rawName, functions);
    if (!resolved) {
      const routeHandler = resolveFunctionName(rawName, routeHandlers);
      const served = functions.length > 0 ? functions.join(', ') : 'none';
      const why = routeHandler
        ? ` (${routeHandler.handler} is a WebSocket route handler: API Gateway invokes it with WebSocket events; functions invoked directly here: ${served})`
        : ` (functions invoked directly here: ${served})`;
      refuse(404, 'ResourceNotFoundException', `Function not found: ${arnOf(rawName)}${why}`);
      return;
    }
    const { handler } = resolved;
    const qualifier = resolved.qualifier ?? url.searchParams.get('Qualifier') ?? undefined;
    if (qualifier !== undefined && qualifier !== '$LATEST') {
      refuse(
        404,
        'ResourceNotFoundException',
        `Function not found: ${arnOf(localFunctionName(handler))}:${qualifier} (only $LATEST exists locally)`,
      );
      return;
    }
    if (invocationType !== 'RequestResponse' && invocationType !== 'Event' && invocationType !== 'DryRun') {
      refuse(
        400,
        'InvalidParameterValueException',
        `1 validation error detected: Value '${invocationType}' at 'invocationType' failed to satisfy constraint: Member must satisfy enum value set: [Event, RequestResponse, DryRun]`,
      );
      return;
    }
    if (invocationType === 'Event' && body.length > ASYNC_PAYLOAD_BYTES) {
      tooLarge(ASYNC_PAYLOAD_BYTES, handler);
      return;
    }
    let event: unknown;
    try {
      // Lambda runs a function invoked without a payload with `{}`.
      event = body.length === 0 ? {} : JSON.parse(body.toString('utf8'));
    } catch (error) {
      sendLambdaError(
        res,
        400,
        'InvalidRequestContentException',
        `Could not parse request body into json: ${errorMessage(error)}`,
        requestId,
      );
      report(400, 'refused', { handler, errorType: 'InvalidRequestContentException' });
      return;
    }
    if (invocationType === 'DryRun') {
      res.writeHead(204, { 'x-amzn-RequestId': requestId });
      res.end();
      report(204, 'ok', { handler });
      return;
    }

    const run = async (): Promise<{
      payload: string;
      functionError?: string;
      errorType?: string;
      throttled?: boolean;
      initDurationMs?: number;
    }> => {
      try {
        const { result, initDurationMs } = await invoke(handler, event, requestId);
        const payload = JSON.stringify(result) ?? 'null';
        if (Buffer.byteLength(payload) > SYNC_PAYLOAD_BYTES) {
          const errorType = 'Function.ResponseSizeTooLarge';
          return {
            payload: JSON.stringify({
              errorType,
              errorMessage: `Response payload size exceeded maximum allowed payload size (${SYNC_PAYLOAD_BYTES} bytes).`,
            }),
            functionError: 'Unhandled',
            errorType,
            initDurationMs,
          };
        }
        return { payload, initDurationMs };
      } catch (error) {
        // Throttled: Lambda answers the caller 429, the function never ran.
        if (error instanceof FunctionThrottled) {
          return {
            payload: JSON.stringify({ Reason: error.reason, Type: 'User', message: error.message }),
            errorType: error.name,
            throttled: true,
          };
        }
        const failure = functionErrorOf(error, requestId, handlerTimeoutMs);
        return { payload: JSON.stringify(failure), functionError: 'Unhandled', errorType: failure.errorType };
      }
    };
    const outcomeOf = (errorType?: string) =>
      errorType === 'Sandbox.Timedout' ? 'timeout' : errorType ? 'error' : 'ok';

    if (invocationType === 'Event') {
      // Lambda queues the event and answers 202 at once; the function runs in the background.
      res.writeHead(202, { 'x-amzn-RequestId': requestId, 'content-length': 0 });
      res.end();
      track(
        run().then((done) =>
          report(202, done.throttled ? 'refused' : outcomeOf(done.errorType), {
            handler,
            initDurationMs: done.initDurationMs,
            ...(done.errorType ? { errorType: done.errorType, error: done.payload } : {}),
          }),
        ),
      );
      return;
    }
    const done = await run();
    if (done.throttled) {
      res.writeHead(429, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(done.payload),
        'x-amzn-ErrorType': 'TooManyRequestsException',
        'x-amzn-RequestId': requestId,
      });
      res.end(done.payload);
      report(429, 'refused', { handler, errorType: 'TooManyRequestsException' });
      return;
    }
    const headers: Record<string, string | number> = {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(done.payload),
      'x-amzn-RequestId': requestId,
      'X-Amz-Executed-Version': '$LATEST',
    };
    if (done.functionError) headers['X-Amz-Function-Error'] = done.functionError;
    if (req.headers['x-amz-log-type'] === 'Tail') {
      const log = `START RequestId: ${requestId} Version: $LATEST\nEND RequestId: ${requestId}\nREPORT RequestId: ${requestId}\tDuration: ${Date.now() - started} ms${done.initDurationMs !== undefined ? `\tInit Duration: ${done.initDurationMs} ms` : ''}\n`;
      headers['X-Amz-Log-Result'] = Buffer.from(log).toString('base64');
    }
    res.writeHead(200, headers);
    res.end(done.payload);
    report(200, outcomeOf(done.errorType), {
      handler,
      initDurationMs: done.initDurationMs,
      ...(done.errorType ? { errorType: done.errorType, error: done.payload } : {}),
    });
  };
}

/** The error document Lambda returns (200 + `X-Amz-Function-Error: Unhandled`) when a function fails. */
export function functionErrorOf(
  error: unknown,
  requestId: string,
  timeoutMs: number,
): { errorType: string; errorMessage: string; trace?: string[] } {
  if (error instanceof HandlerTimeout) {
    return {
      errorType: 'Sandbox.Timedout',
      errorMessage: `RequestId: ${requestId} Error: Task timed out after ${(timeoutMs / 1000).toFixed(2)} seconds`,
    };
  }
  if (error instanceof Error) {
    const trace = error.stack?.split('\n');
    return { errorType: error.name || 'Error', errorMessage: error.message, ...(trace ? { trace } : {}) };
  }
  return { errorType: typeof error, errorMessage: String(error) };
}

/** A Lambda API error: the SDK picks the exception from `x-amzn-ErrorType`; body `{Type, message}`. */
function sendLambdaError(
  res: ServerResponse,
  status: number,
  errorType: string,
  message: string,
  requestId: string,
): void {
  const body = JSON.stringify({ Type: 'User', message });
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'x-amzn-ErrorType': errorType,
    'x-amzn-RequestId': requestId,
  });
  res.end(body);
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** The request body, or `too-large` past `max` bytes (read to the end either way). */
function readBody(req: IncomingMessage, max: number): Promise<Buffer | 'too-large'> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= max) chunks.push(chunk);
    });
    req.on('end', () => resolve(size > max ? 'too-large' : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
