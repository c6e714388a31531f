import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Connection, closeConnection, sendToClient } from './connection.js';
import type { ConnectionRegistry } from './connection-registry.js';
import type { Emit } from './events.js';
import { awsLikeId } from './ids.js';
import type { GatewayLimits } from './options.js';
import { authErrorResponse, type SigV4Verifier } from './sigv4.js';

export interface ManagementDependencies {
  stage: string;
  limits: Required<GatewayLimits>;
  registry: ConnectionRegistry;
  emit: Emit;
  /** Service `execute-api`: every call needs a signature made with the gateway's credentials. */
  verifier: SigV4Verifier;
}

/**
 * An error as the execute-api management endpoint answers it: the SDK picks the exception class
 * from `x-amzn-ErrorType` (without it a 410 is no `GoneException`), the body is `{message}`.
 */
export function sendError(
  res: ServerResponse,
  status: number,
  errorType: string,
  message: string | null,
): void {
  const body = JSON.stringify({ message });
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'x-amzn-ErrorType': errorType,
    'x-amzn-RequestId': awsLikeId(),
  });
  res.end(body);
}

/**
 * The `@connections` API (`POST` / `GET` / `DELETE /{stage}/@connections/{id}`). Like IAM on the
 * real API, a call is only served with a valid SigV4 signature (header or presigned URL); the
 * signature is checked before anything else, so a refused call learns nothing of the connection.
 */
export function createManagementApi(deps: ManagementDependencies) {
  const { stage, limits, registry, emit, verifier } = deps;

  return async function handleManagement(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', 'http://localhost');
    const match = /^\/([^/]+)\/(?:@|%40)connections\/([^/]+)\/?$/i.exec(url.pathname);
    const finish = (status: number, connectionId: string, bytes: number, errorType?: string, body?: string) =>
      emit('management', {
        method,
        connectionId,
        status,
        bytes,
        ...(errorType ? { errorType } : {}),
        ...(body !== undefined ? { body } : {}),
      });
    const fail = (
      status: number,
      errorType: string,
      message: string | null,
      connectionId: string,
      bytes = 0,
      body?: string,
    ) => {
      sendError(res, status, errorType, message);
      finish(status, connectionId, bytes, errorType, body);
    };
    const target = match?.[2] ? safeDecode(match[2]) : '';
    const body = await readBody(req, limits.maxMessageBytes);
    if (body === 'too-large') {
      fail(413, 'PayloadTooLargeException', 'Request Entity Too Large', target);
      return;
    }
    const verdict = await verifier.verify({ method, url: req.url ?? '/', headers: req.headers, body });
    if (!verdict.ok) {
      const answer = authErrorResponse('execute-api', verdict, awsLikeId());
      res.writeHead(answer.status, answer.headers);
      res.end(answer.body);
      finish(answer.status, target, body.length, verdict.code);
      return;
    }
    if (!match || safeDecode(match[1]!) !== stage) {
      // An unknown stage or path on execute-api: 403 ForbiddenException (AWS: "Forbidden").
      fail(403, 'ForbiddenException', 'Forbidden', target);
      return;
    }
    const connectionId = target;
    const live = registry.live(connectionId);
    const gone = (bytes = 0, text?: string) => fail(410, 'GoneException', null, connectionId, bytes, text);

    if (method === 'POST') {
      const text = body.toString('utf8');
      const unread = live?.ws?.bufferedAmount ?? 0;
      if (live && unread + body.length > limits.maxBufferedBytes) {
        // A client that stopped reading: refuse (the handlers keep the message) and cut it off.
        closeConnection(live, 1008, `slow consumer: ${unread} bytes unread`, 'slow-consumer');
        gone(body.length, text);
      } else if (!live || !sendToClient(live, text, limits.maxFrameBytes)) gone(body.length, text);
      else {
        res.writeHead(200, {
          'content-type': 'application/json',
          'content-length': 0,
          'x-amzn-RequestId': awsLikeId(),
        });
        res.end();
        finish(200, connectionId, body.length, undefined, text);
      }
      return;
    }
    if (method === 'GET') {
      if (!live) gone();
      else {
        const details = JSON.stringify(connectionDetails(live));
        res.writeHead(200, {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(details),
        });
        res.end(details);
        finish(200, connectionId, 0);
      }
      return;
    }
    if (method === 'DELETE') {
      if (!live) gone();
      else {
        closeConnection(live, 1000, '', 'deleted');
        res.writeHead(204, { 'x-amzn-RequestId': awsLikeId() });
        res.end();
        finish(204, connectionId, 0);
      }
      return;
    }
    fail(403, 'ForbiddenException', 'Forbidden', connectionId);
  };
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** GetConnection's answer; ISO dates, which the SDK turns into `Date`s. */
function connectionDetails(conn: Connection) {
  return {
    connectedAt: new Date(conn.connectedAt).toISOString(),
    identity: { sourceIp: conn.sourceIp, userAgent: conn.userAgent },
    lastActiveAt: new Date(conn.lastActiveAt).toISOString(),
  };
}

/** The request body, or `too-large` past `max` bytes (read to the end either way, so the answer can be sent). */
function readBody(req: IncomingMessage, max: number): Promise<Buffer | 'too-large'> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) tooLarge = true;
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(tooLarge ? 'too-large' : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
