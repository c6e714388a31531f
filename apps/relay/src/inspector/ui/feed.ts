import { LIMITS, type StateView, type TimelineRow } from '../model.js';

export type FeedStatus = 'connecting' | 'live' | 'reconnecting' | 'closed';

export interface FeedData {
  status: FeedStatus;
  state?: StateView;
  /** Oldest first, at most LIMITS.timelineRows. */
  rows: TimelineRow[];
  /** Relay clock minus the page's (same machine: about 0). */
  skewMs: number;
}

/**
 * The inspector's feed: one EventSource (the browser reconnects on its own; the relay then sends
 * everything again), rows merged by sequence number and bounded, updates handed out at most once
 * per animation frame.
 */
export function openFeed(onUpdate: (data: FeedData) => void): () => void {
  const rows = new Map<number, TimelineRow>();
  let data: FeedData = { status: 'connecting', rows: [], skewMs: 0 };
  let scheduled = false;
  const publish = () => {
    if (scheduled) return;
    scheduled = true;
    requestAnimationFrame(() => {
      scheduled = false;
      onUpdate(data);
    });
  };
  const source = new EventSource(`events${location.search}`);
  source.addEventListener('open', () => {
    data = { ...data, status: 'live' };
    publish();
  });
  source.addEventListener('error', () => {
    data = { ...data, status: source.readyState === EventSource.CLOSED ? 'closed' : 'reconnecting' };
    publish();
  });
  source.addEventListener('state', (event) => {
    const state = JSON.parse((event as MessageEvent<string>).data) as StateView;
    data = { ...data, status: 'live', state, skewMs: state.relay.now - Date.now() };
    publish();
  });
  source.addEventListener('rows', (event) => {
    for (const row of JSON.parse((event as MessageEvent<string>).data) as TimelineRow[])
      rows.set(row.seq, row);
    if (rows.size > LIMITS.timelineRows) {
      const keep = [...rows.keys()].sort((a, b) => a - b).slice(-LIMITS.timelineRows);
      const kept = new Set(keep);
      for (const seq of rows.keys()) if (!kept.has(seq)) rows.delete(seq);
    }
    data = { ...data, rows: [...rows.values()].sort((a, b) => a.seq - b.seq) };
    publish();
  });
  return () => source.close();
}
