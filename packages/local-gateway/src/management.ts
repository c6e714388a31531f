import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Connection, closeConnection, sendToClient } from './connection.js';
import type { ConnectionRegistry } from './connection-registry.js';
import type { Emit } from './events.js';
import { awsLikeId } from './ids.js';
import type { GatewayLimits } from './options.js';

export interface ManagementDependencies {
  stage: string;
  limits: Required<GatewayLimits>;
  registry: ConnectionRegistry;
  emit: Emit;
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

/** The `@connections` API (`POST` / `GET` / `DELETE /{stage}/@connections/{id}`); any signature is accepted. */
export function createManagementApi(deps: ManagementDependencies) {
  const { stage, limits, registry, emit } = deps;

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
    if (!match || decodeURIComponent(match[1]!) !== stage) {
      req.resume();
      // An unknown stage or path on execute-api: 403 ForbiddenException (AWS: "Forbidden").
      fail(403, 'ForbiddenException', 'Forbidden', match?.[2] ? decodeURIComponent(match[2]) : '');
      return;
    }
    const connectionId = decodeURIComponent(match[2]!);
    const live = registry.live(connectionId);
    const gone = (bytes = 0, text?: string) => fail(410, 'GoneException', null, connectionId, bytes, text);

    if (method === 'POST') {
      const body = await readBody(req, limits.maxMessageBytes);
      if (body === 'too-large') {
        fail(413, 'PayloadTooLargeException', 'Request Entity Too Large', connectionId);
        return;
      }
      const text = body.toString('utf8');
      if (!live || !sendToClient(live, text, limits.maxFrameBytes)) gone(body.length, text);
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
    req.resume();
    if (method === 'GET') {
      if (!live) gone();
      else {
        const body = JSON.stringify(connectionDetails(live));
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
        res.end(body);
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
