import { randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LocalGateway } from '@mpc-relay/local-gateway';
import type { StateView, TableView } from './model.js';
import type { RelayObservations } from './observe.js';
import { InspectorState } from './state.js';
import { createTableReader, type TableReaderOptions } from './table.js';

export const INSPECTOR_PATH = '/_inspector/';

/** The page's bundle: `dist/inspector/ui` of this package (this file is in src/inspector or dist/inspector). */
const UI_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'inspector', 'ui');

const FLUSH_MS = 250;
const HEARTBEAT_MS = 15_000;
/** Table reads: at most one a second after a change, and one every 5 s while a page is open. */
const TABLE_MIN_INTERVAL_MS = 1_000;
const TABLE_IDLE_INTERVAL_MS = 5_000;
const MAX_CLIENTS = 16;
/** A page that reads slower than this much unsent data is dropped (it reconnects and starts over). */
const MAX_BUFFERED_BYTES = 1 << 20;

const ASSETS: Record<string, string> = {
  'app.js': 'text/javascript; charset=utf-8',
  'app.css': 'text/css; charset=utf-8',
  'favicon.svg': 'image/svg+xml',
};

const SECURITY_HEADERS = {
  'cache-control': 'no-store',
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
};
const PAGE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export interface InspectorOptions {
  gateway: LocalGateway;
  observations: RelayObservations;
  table: TableReaderOptions;
  authMode: string;
  /** Default: a random token per start. */
  token?: string;
}

export interface Inspector {
  /** The page, token included: `http://127.0.0.1:PORT/_inspector/?token=...`. */
  url: string;
  /** Serves `/_inspector/...`; false for any other path. */
  serve(req: IncomingMessage, res: ServerResponse): boolean;
  close(): void;
}

function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  return v4.startsWith('127.') || address === '::1';
}

/** A client on this machine: over loopback, or from the very address the relay listens on. */
function isLocalClient(req: IncomingMessage): boolean {
  const { remoteAddress, localAddress } = req.socket;
  return isLoopback(remoteAddress) || (!!remoteAddress && remoteAddress === localAddress);
}

function plain(
  res: ServerResponse,
  status: number,
  text: string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/** The host to print in the page URL: loopback even when the relay listens on every interface. */
function loopbackHost(host: string): string {
  if (host === '0.0.0.0' || host === '' || host === '::') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

/**
 * The live inspector: a page and its server-sent events feed on the relay's port under
 * `/_inspector/`, clients on this machine only (loopback, or the relay's own address when it
 * listens on another interface), the page and the feed behind a per-start token.
 */
export function createInspector(options: InspectorOptions): Inspector {
  const { gateway, observations } = options;
  const token = options.token ?? randomBytes(24).toString('base64url');
  const tokenBytes = Buffer.from(token);
  const state = new InspectorState(observations);
  const reader = createTableReader(options.table);
  const clients = new Set<ServerResponse>();
  const startedAt = Date.now();
  let table: TableView = { conversations: [], waiting: [] };
  let flushTimer: NodeJS.Timeout | undefined;
  let tableTimer: NodeJS.Timeout | undefined;
  let tableReading = false;
  let tableReadAt = 0;
  let tableDirty = false;
  let closed = false;
  const heartbeat = setInterval(() => {
    for (const res of clients) write(res, ': keep-alive\n\n');
  }, HEARTBEAT_MS);
  heartbeat.unref();
  const idleRead = setInterval(() => {
    if (clients.size > 0) scheduleTable();
  }, TABLE_IDLE_INTERVAL_MS);
  idleRead.unref();

  function write(res: ServerResponse, chunk: string): void {
    if (res.writableLength > MAX_BUFFERED_BYTES) {
      clients.delete(res);
      res.destroy();
      return;
    }
    res.write(chunk);
  }
  const send = (res: ServerResponse, event: string, data: unknown) =>
    write(res, `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);

  function view(): StateView {
    const connections = state.connectionRows(gateway.connections());
    return {
      relay: {
        url: gateway.url,
        stage: gateway.stage,
        authMode: options.authMode,
        startedAt,
        now: Date.now(),
      },
      connections: connections.rows,
      connectionCount: connections.count,
      disconnects: state.disconnectRows(),
      counters: state.counters(),
      table,
    };
  }

  function flush(): void {
    flushTimer = undefined;
    if (clients.size === 0) {
      state.takeChangedRows();
      return;
    }
    const rows = state.takeChangedRows();
    const current = view();
    for (const res of clients) {
      if (rows.length > 0) send(res, 'rows', rows);
      send(res, 'state', current);
    }
  }
  function scheduleFlush(): void {
    if (!flushTimer && !closed) {
      flushTimer = setTimeout(flush, FLUSH_MS);
      flushTimer.unref();
    }
  }

  async function readTable(): Promise<void> {
    tableTimer = undefined;
    if (closed || clients.size === 0) return;
    tableReading = true;
    tableDirty = false;
    try {
      table = await reader.read();
    } catch (error) {
      table = { ...table, error: error instanceof Error ? error.message : String(error) };
    } finally {
      tableReading = false;
      tableReadAt = Date.now();
    }
    scheduleFlush();
    if (tableDirty) scheduleTable();
  }
  function scheduleTable(): void {
    if (closed || clients.size === 0) return;
    if (tableReading) {
      tableDirty = true;
      return;
    }
    if (tableTimer) return;
    const wait = Math.max(0, tableReadAt + TABLE_MIN_INTERVAL_MS - Date.now());
    tableTimer = setTimeout(() => void readTable(), wait);
    tableTimer.unref();
  }

  state.onChange = (what) => {
    if (what === 'table') scheduleTable();
    scheduleFlush();
  };

  function authorized(url: URL, res: ServerResponse): boolean {
    const given = url.searchParams.get('token');
    if (!given) {
      plain(res, 401, 'The inspector needs its token: open the Inspector URL the relay printed.\n');
      return false;
    }
    const bytes = Buffer.from(given);
    if (bytes.length !== tokenBytes.length || !timingSafeEqual(bytes, tokenBytes)) {
      plain(res, 403, 'Wrong inspector token (it changes at every start): open the URL the relay printed.\n');
      return false;
    }
    return true;
  }

  function openFeed(req: IncomingMessage, res: ServerResponse): void {
    if (clients.size >= MAX_CLIENTS) {
      plain(res, 503, 'Too many inspector pages are open.\n', { 'retry-after': '5' });
      return;
    }
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'content-type': 'text/event-stream; charset=utf-8',
      connection: 'keep-alive',
    });
    res.flushHeaders();
    clients.add(res);
    req.socket.setNoDelay(true);
    // The response's close, not the request's: a GET's request "closes" once it was read.
    const drop = () => clients.delete(res);
    res.on('close', drop);
    res.on('error', drop);
    write(res, 'retry: 2000\n\n');
    send(res, 'rows', state.timeline());
    send(res, 'state', view());
    scheduleTable();
  }

  function serveFile(res: ServerResponse, name: string, type: string, headers: Record<string, string> = {}) {
    const path = join(UI_DIR, name);
    if (!existsSync(path)) {
      plain(res, 503, 'The inspector page is not built: run pnpm build.\n');
      return;
    }
    const body = readFileSync(path);
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'content-type': type,
      'content-length': body.length,
      ...headers,
    });
    res.end(body);
  }

  function serve(req: IncomingMessage, res: ServerResponse): boolean {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== INSPECTOR_PATH.slice(0, -1) && !url.pathname.startsWith(INSPECTOR_PATH))
      return false;
    req.resume();
    if (!isLocalClient(req)) {
      plain(res, 403, 'The inspector answers clients on this machine only.\n');
      return true;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      plain(res, 405, 'Method not allowed.\n', { allow: 'GET' });
      return true;
    }
    const rest = url.pathname.slice(INSPECTOR_PATH.length);
    if (url.pathname === INSPECTOR_PATH.slice(0, -1)) {
      res.writeHead(308, { ...SECURITY_HEADERS, location: `${INSPECTOR_PATH}${url.search}` });
      res.end();
    } else if (rest.startsWith('assets/') && ASSETS[rest.slice(7)]) {
      // The bundle is the same for every relay and holds no data: served without the token.
      serveFile(res, rest.slice(7), ASSETS[rest.slice(7)]!);
    } else if (rest === '') {
      if (authorized(url, res))
        serveFile(res, 'index.html', 'text/html; charset=utf-8', { 'content-security-policy': PAGE_CSP });
    } else if (rest === 'events') {
      if (authorized(url, res)) openFeed(req, res);
    } else plain(res, 404, 'Not found.\n');
    return true;
  }

  const address = `http://${loopbackHost(gateway.host)}:${gateway.port}`;
  return {
    url: `${address}${INSPECTOR_PATH}?token=${token}`,
    serve,
    close() {
      closed = true;
      clearInterval(heartbeat);
      clearInterval(idleRead);
      if (flushTimer) clearTimeout(flushTimer);
      if (tableTimer) clearTimeout(tableTimer);
      for (const res of clients) res.end();
      clients.clear();
      reader.close();
    },
  };
}
