import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedPost {
  connectionId: string;
  data: string;
}

/**
 * A stand-in for the API Gateway management API: POST /STAGE/@connections/{id} records the post
 * (200), DELETE records the close (204); either, for connections marked gone, answers 410 with `x-amzn-ErrorType: GoneException` so the
 * AWS SDK decodes a GoneException, as AWS does.
 */
export interface FakeManagementApi {
  endpoint: string;
  stage: string;
  posts: RecordedPost[];
  /** Connection ids closed with DELETE (DeleteConnection), in order. */
  deletes: string[];
  /** Every request, in order (`POST id` / `DELETE id`): the order of answer and close. */
  log: string[];
  /** Connection ids answered with 410 GoneException. */
  gone: Set<string>;
  /** Frames received by one connection, in order. */
  received(connectionId: string): string[];
  clear(): void;
  close(): Promise<void>;
}

export async function startManagementApi(stage = 'production'): Promise<FakeManagementApi> {
  const posts: RecordedPost[] = [];
  const deletes: string[] = [];
  const log: string[] = [];
  const gone = new Set<string>();
  const server: Server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const url = new URL(request.url ?? '/', 'http://localhost');
      const match = url.pathname.match(/^\/([^/]+)\/(?:@|%40)connections\/([^/]+)$/);
      if (!match || match[1] !== stage) {
        response.writeHead(404, {
          'content-type': 'application/json',
          'x-amzn-ErrorType': 'NotFoundException',
        });
        response.end(JSON.stringify({ message: 'Not Found' }));
        return;
      }
      const connectionId = decodeURIComponent(match[2] ?? '');
      if (request.method !== 'POST' && request.method !== 'DELETE') {
        response.writeHead(405).end();
        return;
      }
      log.push(`${request.method} ${connectionId}`);
      if (gone.has(connectionId)) {
        response.writeHead(410, { 'content-type': 'application/json', 'x-amzn-ErrorType': 'GoneException' });
        response.end(JSON.stringify({ message: null }));
        return;
      }
      if (request.method === 'DELETE') {
        deletes.push(connectionId);
        response.writeHead(204).end();
        return;
      }
      posts.push({ connectionId, data: Buffer.concat(chunks).toString('utf8') });
      response.writeHead(200, { 'content-type': 'application/json' }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}/${stage}`,
    stage,
    posts,
    deletes,
    log,
    gone,
    received: (connectionId) =>
      posts.filter((post) => post.connectionId === connectionId).map((post) => post.data),
    clear: () => {
      posts.length = 0;
      deletes.length = 0;
      log.length = 0;
      gone.clear();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
