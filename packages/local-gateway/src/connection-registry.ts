import { type Connection, isLive } from './connection.js';
import { stopTimers } from './connection-limits.js';
import { asError, type DisconnectCause, type Emit } from './events.js';

export interface ConnectionRegistry {
  add(conn: Connection): void;
  /** Drops a connection the handshake refused: it never existed for the handlers. */
  forget(conn: Connection): void;
  /** The connection if a management call can reach it. */
  live(connectionId: string): Connection | undefined;
  all(): Connection[];
  /** Runs `task` after the connection's earlier events, so handlers see them in order. */
  enqueue(conn: Connection, task: () => Promise<void>): void;
  /** The socket is gone: emits `disconnect` and queues `$disconnect` (once per connection). */
  closed(conn: Connection, code: number, reason: string): void;
}

export interface RegistryDependencies {
  emit: Emit;
  /** Registers work that `close()` waits for. */
  track<T>(promise: Promise<T>): Promise<T>;
  runDisconnect(conn: Connection, code: number, reason: string): Promise<void>;
}

export function createConnectionRegistry(deps: RegistryDependencies): ConnectionRegistry {
  const connections = new Map<string, Connection>();
  const enqueue = (conn: Connection, task: () => Promise<void>) => {
    conn.queue = deps.track(
      conn.queue.then(task).catch((error: unknown) => deps.emit('error', asError(error))),
    );
  };
  return {
    add(conn) {
      connections.set(conn.id, conn);
    },
    forget(conn) {
      connections.delete(conn.id);
    },
    live(connectionId) {
      const conn = connections.get(connectionId);
      return conn && isLive(conn) ? conn : undefined;
    },
    all: () => [...connections.values()],
    enqueue,
    closed(conn, code, reason) {
      if (conn.state === 'closed') return;
      conn.state = 'closed';
      stopTimers(conn);
      connections.delete(conn.id);
      const info = disconnectInfo(conn, code, reason);
      deps.emit('disconnect', { connectionId: conn.id, ...info });
      enqueue(conn, () => deps.runDisconnect(conn, info.code, info.reason));
    },
  };
}

/** What `$disconnect` reports: the gateway's own close if it started one, else API Gateway's view of the client's. */
function disconnectInfo(
  conn: Connection,
  code: number,
  reason: string,
): { code: number; reason: string; cause: DisconnectCause } {
  if (conn.closing) return conn.closing;
  const text =
    code === 1005
      ? 'Client-side close frame status not set'
      : code === 1006
        ? 'Connection closed abnormally'
        : reason;
  return { code: code || 1006, reason: text, cause: code === 1006 ? 'error' : 'client' };
}
