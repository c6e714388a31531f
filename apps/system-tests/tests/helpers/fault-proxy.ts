/**
 * A fault-injecting HTTP proxy for the AWS APIs the handlers call (DynamoDB, the API Gateway
 * management API). The handlers reach it through their ordinary endpoint overrides
 * (DYNAMODB_ENDPOINT, MANAGEMENT_ENDPOINT): no production code knows about it. Each request is
 * either forwarded to `target`, answered with an AWS-shaped error (status, `x-amzn-ErrorType`
 * header and JSON `__type`, so the real SDK decodes the exception and applies its retry rules), or
 * forwarded and then answered with an error (the write happened, the answer was lost: the SDK
 * retries a request that already took effect).
 */
import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ProxiedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** DynamoDB operation from `X-Amz-Target` (`PutItem`, `Query`...), or the HTTP method for others. */
  operation: string;
}

export interface AwsError {
  status: number;
  errorType: string;
  message?: string;
}

export type Decision =
  | { kind: 'forward' }
  /** Forwarded once `until` settles (to order a request after something else). */
  | { kind: 'hold'; until: Promise<unknown> }
  | ({ kind: 'fail' } & AwsError)
  | ({ kind: 'forwardThenFail' } & AwsError)
  /** Answered 200 with this JSON body, not forwarded (e.g. a BatchWriteItem left unprocessed). */
  | { kind: 'respond'; body: unknown };

export const FORWARD: Decision = { kind: 'forward' };

export const Faults = {
  dynamoThrottling: {
    kind: 'fail',
    status: 400,
    errorType: 'ProvisionedThroughputExceededException',
    message: 'The level of configured provisioned throughput for the table was exceeded.',
  },
  conditionalCheckFailed: {
    kind: 'fail',
    status: 400,
    errorType: 'ConditionalCheckFailedException',
    message: 'The conditional request failed',
  },
  /** The write is applied, then the client sees a 500 and retries it. */
  lostWriteAnswer: {
    kind: 'forwardThenFail',
    status: 500,
    errorType: 'InternalServerError',
    message: 'Internal server error (injected after the write)',
  },
  gone: { kind: 'fail', status: 410, errorType: 'GoneException', message: 'Gone (injected)' },
  throttling: { kind: 'fail', status: 429, errorType: 'ThrottlingException', message: 'Rate exceeded' },
  limitExceeded: {
    kind: 'fail',
    status: 429,
    errorType: 'LimitExceededException',
    message: 'Limit exceeded (injected)',
  },
} as const satisfies Record<string, Decision>;

/**
 * DynamoDB throttled every item of this BatchWriteItem: 200 with all its requests in
 * `UnprocessedItems`, nothing written (what the SDK returns as is: retrying them is the caller's job).
 */
export function unprocessedBatch(request: ProxiedRequest): Decision {
  const input = JSON.parse(request.body.toString()) as { RequestItems: Record<string, unknown[]> };
  return { kind: 'respond', body: { UnprocessedItems: input.RequestItems } };
}

/** Injects `fault` on the next `count` requests that `matches` accepts, then forwards again. */
export function faultBurst(
  matches: (request: ProxiedRequest) => boolean,
  fault: Decision,
  count: number,
): { rule: (request: ProxiedRequest) => Decision; remaining: () => number } {
  let left = count;
  return {
    rule: (request) => {
      if (left > 0 && matches(request)) {
        left -= 1;
        return fault;
      }
      return FORWARD;
    },
    remaining: () => left,
  };
}

export class FaultProxy {
  target?: string;
  rule: (request: ProxiedRequest) => Decision = () => FORWARD;
  readonly stats = { forwarded: 0, injected: 0, held: 0, byOperation: new Map<string, number>() };

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(): Promise<FaultProxy> {
    let proxy: FaultProxy | undefined;
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on(
        'end',
        () =>
          void proxy!.handle(req.method ?? 'GET', req.url ?? '/', req.headers, Buffer.concat(chunks), res),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    proxy = new FaultProxy(server, `http://127.0.0.1:${port}`);
    return proxy;
  }

  private async handle(
    method: string,
    path: string,
    headers: IncomingHttpHeaders,
    body: Buffer,
    res: import('node:http').ServerResponse,
  ): Promise<void> {
    const target = headers['x-amz-target'];
    const operation = typeof target === 'string' ? (target.split('.').pop() ?? target) : method;
    this.stats.byOperation.set(operation, (this.stats.byOperation.get(operation) ?? 0) + 1);
    let decision: Decision;
    try {
      decision = this.rule({ method, path, headers, body, operation });
    } catch {
      decision = FORWARD;
    }
    if (decision.kind === 'hold') {
      this.stats.held += 1;
      await decision.until.catch(() => {});
    }
    if (decision.kind === 'fail') {
      this.stats.injected += 1;
      sendError(res, decision);
      return;
    }
    if (decision.kind === 'respond') {
      this.stats.injected += 1;
      const text = JSON.stringify(decision.body);
      res.writeHead(200, {
        'content-type': 'application/x-amz-json-1.0',
        'x-amzn-requestid': `injected-${Date.now()}`,
        'content-length': Buffer.byteLength(text),
      });
      res.end(text);
      return;
    }
    try {
      const answer = await this.forward(method, path, headers, body);
      if (decision.kind === 'forwardThenFail') {
        this.stats.injected += 1;
        sendError(res, decision);
        return;
      }
      this.stats.forwarded += 1;
      res.writeHead(answer.status, answer.headers);
      res.end(answer.body);
    } catch (error) {
      sendError(res, { status: 502, errorType: 'BadGateway', message: String(error) });
    }
  }

  private forward(
    method: string,
    path: string,
    headers: IncomingHttpHeaders,
    body: Buffer,
  ): Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }> {
    if (!this.target) return Promise.reject(new Error('no target'));
    const url = new URL(path, this.target);
    return new Promise((resolve, reject) => {
      const req = httpRequest(
        url,
        // The Host header is forwarded as the client sent it: it is part of what the client
        // signed (SigV4), and the relay's endpoints verify every signature.
        { method, headers: { ...headers, connection: 'keep-alive' } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => {
            const { connection: _c, 'transfer-encoding': _t, ...rest } = res.headers;
            resolve({ status: res.statusCode ?? 502, headers: rest, body: Buffer.concat(chunks) });
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}

function sendError(res: import('node:http').ServerResponse, error: AwsError): void {
  const body = JSON.stringify({
    __type: `com.amazonaws.dynamodb.v20120810#${error.errorType}`,
    message: error.message ?? error.errorType,
  });
  res.writeHead(error.status, {
    'content-type': 'application/x-amz-json-1.0',
    'x-amzn-errortype': error.errorType,
    'x-amzn-requestid': `injected-${Date.now()}`,
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}
