import type { ConnectionInfo } from '@mpc-relay/local-gateway';
import {
  type ConnectionRow,
  type CounterSet,
  type Counters,
  type DisconnectRow,
  LIMITS,
  type TimelineRow,
} from './model.js';
import type {
  ConnectionObservation,
  MessageObservation,
  PostObservation,
  RelayObservations,
} from './observe.js';

const BUCKET_MS = 10_000;
/** One hour of 10-second buckets. */
const BUCKETS = 360;

function emptySet(): CounterSet {
  return {
    frames: 0,
    relayed: 0,
    dynamodb: 0,
    posts: 0,
    gone: 0,
    refusals: 0,
    errors: 0,
    refusalsByCode: {},
  };
}

function addInto(target: CounterSet, source: CounterSet): void {
  for (const key of ['frames', 'relayed', 'dynamodb', 'posts', 'gone', 'refusals', 'errors'] as const)
    target[key] += source[key];
  for (const [code, n] of Object.entries(source.refusalsByCode))
    target.refusalsByCode[code] = (target.refusalsByCode[code] ?? 0) + n;
}

/**
 * What the inspector shows that the gateway's observations tell (the table is read apart): open
 * connections, recent disconnects, the message timeline and the counters. Everything is bounded.
 */
export class InspectorState {
  private readonly connections = new Map<string, ConnectionObservation>();
  private readonly disconnects: DisconnectRow[] = [];
  private readonly rows: TimelineRow[] = [];
  private seq = 0;
  private readonly totals = emptySet();
  private readonly buckets = new Map<number, CounterSet>();
  private readonly changedRows = new Map<number, TimelineRow>();
  readonly since = Date.now();
  /** Called after every change (the feed batches them). */
  onChange: (what: 'state' | 'rows' | 'table') => void = () => {};

  constructor(observations: RelayObservations) {
    observations.on('connect', (c) => {
      this.connections.set(c.connectionId, c);
      this.onChange('table');
    });
    observations.on('disconnect', (d) => {
      this.connections.delete(d.connectionId);
      this.disconnects.unshift({
        at: d.at,
        connectionId: d.connectionId,
        ...(d.peer ? { peer: d.peer } : {}),
        code: d.code,
        reason: d.reason,
        cause: d.cause,
      });
      this.disconnects.length = Math.min(this.disconnects.length, LIMITS.disconnectRows);
      this.onChange('state');
    });
    observations.on('message', (m) => this.message(m));
    observations.on('post', (p) => this.post(p));
    observations.on('management', (m) => {
      if (m.status === 410) this.count(m.at, (c) => c.gone++);
    });
    observations.on('store', (s) => this.count(s.at, (c) => c.dynamodb++));
  }

  private count(at: number, change: (set: CounterSet) => void): void {
    change(this.totals);
    const key = Math.floor(at / BUCKET_MS);
    let bucket = this.buckets.get(key);
    if (!bucket) {
      bucket = emptySet();
      this.buckets.set(key, bucket);
      for (const old of this.buckets.keys()) if (old <= key - BUCKETS) this.buckets.delete(old);
    }
    change(bucket);
    this.onChange('state');
  }

  private addRow(row: Omit<TimelineRow, 'seq'>): TimelineRow {
    const full = { seq: ++this.seq, ...row };
    this.rows.push(full);
    if (this.rows.length > LIMITS.timelineRows) this.rows.shift();
    this.changedRows.set(full.seq, full);
    this.onChange('rows');
    return full;
  }

  private message(m: MessageObservation): void {
    this.count(m.at, (c) => {
      c.frames++;
      if (m.route === 'sendServer' && ['delivered', 'stored', 'duplicate'].includes(m.outcome)) c.relayed++;
      if (m.outcome === 'refused') {
        c.refusals++;
        const code = m.code ?? 'unknown';
        c.refusalsByCode[code] = (c.refusalsByCode[code] ?? 0) + 1;
      }
      if (m.outcome === 'error') c.errors++;
    });
    this.addRow({
      at: m.at,
      ...(m.from ? { from: m.from } : {}),
      ...(m.to ? { to: m.to } : m.route === 'sendServer' ? {} : { to: 'relay' }),
      route: m.route,
      ...(m.operationType ? { operationType: m.operationType } : {}),
      bytes: m.bytes,
      protocol: m.protocol,
      outcome: m.outcome,
      ...(m.code ? { code: m.code } : {}),
      ...(m.error ? { error: m.error } : {}),
      latencyMs: m.latencyMs,
      ...(m.conversation ? { conversation: m.conversation } : {}),
    });
    if (m.route === 'sendServer' || m.outcome === 'stored') this.onChange('table');
  }

  private post(p: PostObservation): void {
    this.count(p.at, (c) => {
      c.posts++;
      if (p.status === 410) c.gone++;
    });
    if (p.cause === 'inbox' && p.status === 200) {
      // The oldest stored message of this sender and type for this receiver, not yet delivered.
      const row = this.rows.find(
        (r) =>
          r.outcome === 'stored' &&
          r.deliveredLaterAt === undefined &&
          r.to === p.peer &&
          r.operationType === p.operationType &&
          r.from?.endsWith(`:${p.from}`),
      );
      if (row) {
        row.deliveredLaterAt = p.at;
        this.changedRows.set(row.seq, row);
        this.onChange('rows');
      }
      this.onChange('table');
    } else if (p.cause === 'broadcast') {
      this.addRow({
        at: p.at,
        from: 'relay',
        ...(p.peer ? { to: p.peer } : {}),
        route: 'broadcast',
        operationType: p.operationType ?? 'broadcast',
        bytes: p.bytes,
        protocol: 'v1',
        outcome: p.status === 200 ? 'delivered' : 'error',
        ...(p.status !== 200 ? { code: String(p.status) } : {}),
        latencyMs: 0,
      });
    } else if (p.cause === 'report' && p.code) {
      this.addRow({
        at: p.at,
        from: 'relay',
        ...(p.peer ? { to: p.peer } : {}),
        route: 'report',
        bytes: p.bytes,
        protocol: 'v2',
        outcome: 'refused',
        code: p.code,
        latencyMs: 0,
      });
      this.count(p.at, (c) => {
        c.refusals++;
        c.refusalsByCode[p.code!] = (c.refusalsByCode[p.code!] ?? 0) + 1;
      });
    }
  }

  /** Open connections, most recently active first, with the gateway's activity times. */
  connectionRows(live: readonly ConnectionInfo[]): { rows: ConnectionRow[]; count: number } {
    const open = live.filter((c) => c.state === 'open');
    const rows = open
      .map((c): ConnectionRow => {
        const seen = this.connections.get(c.connectionId);
        return {
          connectionId: c.connectionId,
          ...(seen?.peer ? { peer: seen.peer } : {}),
          protocol: seen?.protocol ?? (c.subprotocol === 'mpc-relay.v2' ? 'v2' : 'v1'),
          teams: seen?.teams ?? [],
          sourceIp: c.sourceIp,
          connectedAt: c.connectedAt,
          lastActiveAt: c.lastActiveAt,
        };
      })
      .sort((a, b) => b.lastActiveAt - a.lastActiveAt)
      .slice(0, LIMITS.connectionRows);
    return { rows, count: open.length };
  }

  disconnectRows(): DisconnectRow[] {
    return [...this.disconnects];
  }

  timeline(): TimelineRow[] {
    return [...this.rows];
  }

  /** Rows added or changed since the last call. */
  takeChangedRows(): TimelineRow[] {
    const rows = [...this.changedRows.values()];
    this.changedRows.clear();
    return rows;
  }

  counters(now = Date.now()): Counters {
    const current = Math.floor(now / BUCKET_MS);
    const lastMinute = emptySet();
    const minutes = new Map<number, { relayed: number; refusals: number; errors: number }>();
    for (const [key, bucket] of this.buckets) {
      if (key > current - 60_000 / BUCKET_MS) addInto(lastMinute, bucket);
      const minute = Math.floor((key * BUCKET_MS) / 60_000) * 60_000;
      if (minute > now - 30 * 60_000) {
        const m = minutes.get(minute) ?? { relayed: 0, refusals: 0, errors: 0 };
        m.relayed += bucket.relayed;
        m.refusals += bucket.refusals;
        m.errors += bucket.errors;
        minutes.set(minute, m);
      }
    }
    const totals = emptySet();
    addInto(totals, this.totals);
    return {
      since: this.since,
      totals,
      lastMinute,
      perMinute: [...minutes.entries()].sort((a, b) => a[0] - b[0]).map(([minute, m]) => ({ minute, ...m })),
    };
  }
}
