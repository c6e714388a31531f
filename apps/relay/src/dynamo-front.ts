import {
  Agent,
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { authErrorResponse, awsLikeId, type SigV4Verifier } from '@mpc-relay/local-gateway';

/** DynamoDB's request size limit (16 MB); a larger body is refused before it is read whole. */
export const MAX_DYNAMODB_REQUEST_BYTES = 16 * 1024 * 1024;

export interface DynamoFrontOptions {
  /**
   * The store behind the front: dynalite's HTTP server in this process (requests are handed to
   * its request listener, no second HTTP hop), or, for a store in another process, its Unix
   * socket (inside the 0700 data folder) or URL.
   */
  target: { server: Server } | { socketPath: string } | { url: string };
  /** A verifier for service `dynamodb` holding the relay's credentials. */
  verifier: SigV4Verifier;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (a free port). */
  port?: number;
  /** Called for each refused request (the failure's code and the key id it named; never a secret). */
  onRefused?: (refusal: { code: string; accessKeyId?: string; operation?: string }) => void;
}

export interface DynamoFront {
  /** `http://127.0.0.1:PORT`: DYNAMODB_ENDPOINT / `new DynamoDBClient({ endpoint })`. */
  endpoint: string;
  close(): Promise<void>;
}

/**
 * The embedded DynamoDB's only network endpoint: it verifies each request's SigV4 signature
 * (service `dynamodb`) and hands the ones made with the relay's credentials, unchanged, to dynalite:
 * to its request listener when it runs in this process (no second HTTP hop), else over a
 * keep-alive connection to its Unix socket in the data folder, which nobody else can reach. Refusals are DynamoDB's own (400,
 * `com.amazon.coral.service#MissingAuthenticationTokenException`, `UnrecognizedClientException`,
 * `InvalidSignatureException`, `IncompleteSignatureException`), which the SDK raises by name.
 */
export async function startDynamoFront(options: DynamoFrontOptions): Promise<DynamoFront> {
  const { verifier, target } = options;
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const upstream =
    'server' in target
      ? undefined
      : 'socketPath' in target
        ? { socketPath: target.socketPath, hostname: 'localhost' }
        : (() => {
            const url = new URL(target.url);
            return { hostname: url.hostname, port: Number(url.port || 80) };
          })();

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) {
        const body = JSON.stringify({
          __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError',
          message: 'Internal server error',
        });
        res.writeHead(500, {
          'content-type': 'application/x-amz-json-1.0',
          'content-length': Buffer.byteLength(body),
        });
        res.end(body);
      } else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    if (body === 'too-large') {
      const message = `Request size exceeded ${MAX_DYNAMODB_REQUEST_BYTES} bytes`;
      const text = JSON.stringify({ __type: 'com.amazon.coral.service#SerializationException', message });
      res.writeHead(413, {
        'content-type': 'application/x-amz-json-1.0',
        'content-length': Buffer.byteLength(text),
      });
      res.end(text);
      return;
    }
    const verdict = await verifier.verify({
      method: req.method ?? 'POST',
      url: req.url ?? '/',
      headers: req.headers,
      body,
    });
    if (!verdict.ok) {
      const answer = authErrorResponse('dynamodb', verdict, awsLikeId());
      res.writeHead(answer.status, answer.headers);
      res.end(answer.body);
      const target = req.headers['x-amz-target'];
      options.onRefused?.({
        code: verdict.code,
        ...(verdict.accessKeyId !== undefined ? { accessKeyId: verdict.accessKeyId } : {}),
        ...(typeof target === 'string' ? { operation: target.split('.').pop() ?? target } : {}),
      });
      return;
    }
    if ('server' in target) {
      // The verified request, replayed to dynalite's own listener, which answers on `res`.
      const replay = Object.assign(Readable.from(body.length > 0 ? [body] : []), {
        headers: req.headers,
        rawHeaders: req.rawHeaders,
        method: req.method,
        url: req.url,
        httpVersion: req.httpVersion,
        socket: req.socket,
      });
      await new Promise<void>((resolvePromise) => {
        res.once('finish', resolvePromise);
        res.once('close', resolvePromise);
        target.server.emit('request', replay, res);
      });
      return;
    }
    await new Promise<void>((resolvePromise, reject) => {
      const forward = httpRequest(
        { ...upstream, agent, method: req.method, path: req.url, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
          answer.on('end', resolvePromise);
          answer.on('error', reject);
        },
      );
      forward.on('error', reject);
      forward.end(body);
    });
  }

  await new Promise<void>((resolvePromise, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolvePromise();
    });
  });
  const { address, port } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;
  return {
    endpoint: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolvePromise) => {
        server.close(() => resolvePromise());
        // Keep-alive sockets of the handlers' SDK clients would hold the close for 30 s.
        server.closeAllConnections();
        agent.destroy();
      }),
  };
}

function readBody(req: IncomingMessage): Promise<Buffer | 'too-large'> {
  return new Promise((resolvePromise, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > MAX_DYNAMODB_REQUEST_BYTES) {
      req.resume();
      req.on('end', () => resolvePromise('too-large'));
      req.on('error', reject);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_DYNAMODB_REQUEST_BYTES) chunks.push(chunk);
    });
    req.on('end', () =>
      resolvePromise(size > MAX_DYNAMODB_REQUEST_BYTES ? 'too-large' : Buffer.concat(chunks)),
    );
    req.on('error', reject);
  });
}
