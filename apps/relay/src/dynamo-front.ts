import { EventEmitter } from 'node:events';
import {
  createServer,
  type IncomingMessage,
  type RequestListener,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { awsLikeId } from '@mpc-relay/local-gateway/ids';
import { authErrorResponse, type SigV4Verifier } from '@mpc-relay/local-gateway/sigv4';

/** DynamoDB's request size limit (16 MB); a larger body is refused before it is read whole. */
export const MAX_DYNAMODB_REQUEST_BYTES = 16 * 1024 * 1024;

/** A refused request: the failure's code, the key id it named and the operation; never a secret. */
export interface DynamoRefusal {
  code: string;
  accessKeyId?: string;
  operation?: string;
}

export interface VerifyingListenerOptions {
  /** dynalite's HTTP server (listening or not): verified requests go to its request listener. */
  store: Server;
  /** A verifier for service `dynamodb` holding the relay's credentials. */
  verifier: SigV4Verifier;
  onRefused?: (refusal: DynamoRefusal) => void;
}

/**
 * The request listener that guards dynalite: it verifies each request's SigV4 signature (service
 * `dynamodb`) and hands the ones made with the relay's credentials, unchanged, to dynalite's own
 * listener in the same process, which answers on the same response (one HTTP hop in all).
 * Refusals are DynamoDB's own (400, `com.amazon.coral.service#MissingAuthenticationTokenException`,
 * `UnrecognizedClientException`, `InvalidSignatureException`, `IncompleteSignatureException`),
 * which the SDK raises by name; nothing reaches dynalite before its signature checked out.
 */
export function createVerifyingListener(options: VerifyingListenerOptions): RequestListener {
  const { verifier, store } = options;

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
    // The verified request, replayed to dynalite's own listener, which answers on `res`. Its
    // listener subscribes to `data` and `end` as it is called, so the body follows at once.
    const replay = Object.assign(new EventEmitter(), {
      headers: req.headers,
      rawHeaders: req.rawHeaders,
      method: req.method,
      url: req.url,
      httpVersion: req.httpVersion,
      socket: req.socket,
    });
    store.emit('request', replay, res);
    if (body.length > 0) replay.emit('data', body);
    replay.emit('end');
  }

  return (req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) answerInternalServerError(res);
      else res.destroy();
    });
  };
}

export interface DynamoFrontOptions extends VerifyingListenerOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (a free port). */
  port?: number;
}

export interface DynamoFront {
  /** `http://127.0.0.1:PORT`: DYNAMODB_ENDPOINT / `new DynamoDBClient({ endpoint })`. */
  endpoint: string;
  close(): Promise<void>;
}

/**
 * A verifying endpoint on loopback TCP for a dynalite server in this process (createVerifyingListener
 * on its own port). The relay's store runs the same listener inside its store process instead
 * (store/process.ts), on the connections the relay accepts for it.
 */
export async function startDynamoFront(options: DynamoFrontOptions): Promise<DynamoFront> {
  const server = createServer(createVerifyingListener(options));
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
      resolvePromise(
        size > MAX_DYNAMODB_REQUEST_BYTES
          ? 'too-large'
          : chunks.length === 1
            ? (chunks[0] as Buffer)
            : Buffer.concat(chunks),
      ),
    );
    req.on('error', reject);
  });
}

/** DynamoDB's own 500, which the SDK retries; `close` also ends the connection. */
export function answerInternalServerError(res: ServerResponse, close = false): void {
  const body = JSON.stringify({
    __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError',
    message: 'Internal server error',
  });
  res.writeHead(500, {
    'content-type': 'application/x-amz-json-1.0',
    'content-length': Buffer.byteLength(body),
    ...(close ? { connection: 'close' } : {}),
  });
  res.end(body);
}
