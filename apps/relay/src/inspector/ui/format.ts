import type { Outcome, TimelineRow } from '../model.js';

export function clock(at: number): string {
  const d = new Date(at);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/** "4 s", "3 min 20 s", "2 h 5 min". */
export function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 ? `${m} min ${s % 60} s` : `${m} min`;
  const h = Math.floor(m / 60);
  return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

export const OUTCOME_SYMBOL: Record<Outcome, string> = {
  delivered: '✓',
  stored: '◷',
  duplicate: '≡',
  refused: '✕',
  error: '!',
  ok: '·',
};

export function outcomeText(row: Pick<TimelineRow, 'outcome' | 'code'>): string {
  return row.code && (row.outcome === 'refused' || row.outcome === 'error')
    ? `${row.outcome} ${row.code}`
    : row.outcome;
}

/** What the operation-type filter matches: the operation type, else the route. */
export const kindOf = (row: TimelineRow) => row.operationType ?? row.route;

export function matches(row: TimelineRow, peer: string, kind: string, problemsOnly: boolean): boolean {
  if (kind && kindOf(row) !== kind) return false;
  if (problemsOnly && row.outcome !== 'refused' && row.outcome !== 'error') return false;
  if (!peer) return true;
  const needle = peer.toLowerCase();
  return [row.from, row.to].some((p) => p?.toLowerCase().includes(needle));
}
