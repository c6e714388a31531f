import { render } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import type { CounterSet, StateView, TimelineRow } from '../model.js';
import { type FeedData, openFeed } from './feed.js';
import { bytes, clock, duration, kindOf, matches, OUTCOME_SYMBOL, outcomeText } from './format.js';
import { SequenceDiagram } from './sequence.js';

const STATUS_TEXT: Record<FeedData['status'], string> = {
  connecting: 'connecting…',
  live: 'live',
  reconnecting: 'reconnecting…',
  closed: 'disconnected: the relay stopped or restarted (a restart prints a new Inspector URL)',
};

/** Re-renders every second so ages stay current. */
function useNow(skewMs: number): number {
  const [now, setNow] = useState(Date.now() + skewMs);
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now() + skewMs), 1000);
    return () => clearInterval(timer);
  }, [skewMs]);
  return now;
}

function Outcome({ row }: { row: Pick<TimelineRow, 'outcome' | 'code'> }) {
  return (
    <span class={`badge outcome-${row.outcome}`}>
      <span aria-hidden="true">{OUTCOME_SYMBOL[row.outcome]} </span>
      {outcomeText(row)}
    </span>
  );
}

function Section({
  id,
  title,
  count,
  children,
}: {
  id: string;
  title: string;
  count?: number;
  children: unknown;
}) {
  return (
    <section aria-labelledby={`${id}-title`} id={id} data-testid={id}>
      <h2 id={`${id}-title`}>
        {title}
        {count !== undefined ? <span class="count"> ({count})</span> : null}
      </h2>
      {children}
    </section>
  );
}

const COUNTERS: { key: keyof Omit<CounterSet, 'refusalsByCode'>; label: string }[] = [
  { key: 'relayed', label: 'Relayed messages' },
  { key: 'frames', label: 'Frames handled' },
  { key: 'dynamodb', label: 'DynamoDB requests' },
  { key: 'posts', label: 'Posts (@connections)' },
  { key: 'gone', label: '410 Gone' },
  { key: 'refusals', label: 'Refusals' },
  { key: 'errors', label: 'Errors' },
];

function Counters({ state }: { state: StateView }) {
  const { totals, lastMinute, perMinute } = state.counters;
  const codes = Object.entries(totals.refusalsByCode).sort((a, b) => b[1] - a[1]);
  const peak = Math.max(1, ...perMinute.map((m) => m.relayed + m.refusals + m.errors));
  return (
    <Section id="counters" title="Counters">
      <ul class="counters">
        {COUNTERS.map(({ key, label }) => (
          <li
            key={key}
            class={(key === 'refusals' || key === 'errors') && totals[key] > 0 ? 'counter alert' : 'counter'}
            data-counter={key}
          >
            <span class="label">{label}</span>
            <span class="value">{totals[key]}</span>
            <span class="rate">{lastMinute[key]} in the last minute</span>
          </li>
        ))}
      </ul>
      {codes.length > 0 ? (
        <p class="codes" data-testid="refusal-codes">
          Refusals by code:{' '}
          {codes.map(([code, n], i) => (
            <span key={code}>
              {i > 0 ? ', ' : ''}
              <code>{code}</code> {n}
            </span>
          ))}
        </p>
      ) : null}
      {perMinute.length > 0 ? (
        <figure class="minutes">
          <figcaption>Per minute (relayed, refusals and errors), last {perMinute.length} min</figcaption>
          <div
            class="bars"
            role="img"
            aria-label={perMinute
              .map(
                (m) =>
                  `${clock(m.minute).slice(0, 5)}: ${m.relayed} relayed, ${m.refusals} refused, ${m.errors} errors`,
              )
              .join('; ')}
          >
            {perMinute.map((m) => (
              <span
                key={m.minute}
                class="bar"
                title={`${clock(m.minute).slice(0, 5)}: ${m.relayed} relayed, ${m.refusals} refused, ${m.errors} errors`}
              >
                <span class="ok" style={{ height: `${(m.relayed / peak) * 100}%` }} />
                <span class="bad" style={{ height: `${((m.refusals + m.errors) / peak) * 100}%` }} />
              </span>
            ))}
          </div>
        </figure>
      ) : null}
    </Section>
  );
}

function Table({
  label,
  head,
  children,
  empty,
  className,
}: {
  label: string;
  head: string[];
  children: unknown[];
  empty: string;
  className?: string;
}) {
  if (children.length === 0) return <p class="empty">{empty}</p>;
  return (
    <div class="scroll">
      <table class={className}>
        <caption class="sr-only">{label}</caption>
        <thead>
          <tr>
            {head.map((h) => (
              <th key={h} scope="col">
                {h}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
    </div>
  );
}

function Connections({ state, now }: { state: StateView; now: number }) {
  return (
    <Section id="connections" title="Live connections" count={state.connectionCount}>
      <Table
        label="Live connections"
        head={['Peer', 'Protocol', 'Teams', 'Connected', 'Last active', 'Connection id']}
        empty="No peer is connected."
      >
        {state.connections.map((c) => (
          <tr key={c.connectionId}>
            <td class="peer">{c.peer ?? '?'}</td>
            <td>{c.protocol}</td>
            <td>{c.teams.join(', ') || '–'}</td>
            <td title={new Date(c.connectedAt).toISOString()}>{duration(now - c.connectedAt)} ago</td>
            <td title={new Date(c.lastActiveAt).toISOString()}>{duration(now - c.lastActiveAt)} ago</td>
            <td>
              <code>{c.connectionId}</code>
            </td>
          </tr>
        ))}
      </Table>
      {state.connectionCount > state.connections.length ? (
        <p class="note">Showing the {state.connections.length} most recently active.</p>
      ) : null}
    </Section>
  );
}

function Disconnects({ state, now }: { state: StateView; now: number }) {
  return (
    <Section id="disconnects" title="Recent disconnects" count={state.disconnects.length}>
      <Table
        label="Recent disconnects"
        head={['When', 'Peer', 'Connection id', 'Close code', 'Cause']}
        empty="None yet."
      >
        {state.disconnects.map((d) => (
          <tr key={`${d.connectionId}-${d.at}`}>
            <td title={clock(d.at)}>{duration(now - d.at)} ago</td>
            <td class="peer">{d.peer ?? '?'}</td>
            <td>
              <code>{d.connectionId}</code>
            </td>
            <td>
              {d.code}
              {d.reason ? <span class="muted"> {d.reason}</span> : null}
            </td>
            <td>{d.cause}</td>
          </tr>
        ))}
      </Table>
    </Section>
  );
}

function Conversations({ state, now }: { state: StateView; now: number }) {
  const { table } = state;
  return (
    <Section id="conversations" title="Conversations" count={table.conversations.length}>
      <Table
        label="Conversations"
        head={['cli', 'answers mpc', 'Conversation', 'Expires in', 'Table key']}
        empty={table.readAt ? 'No cli answers an mpc yet.' : 'Reading the table…'}
      >
        {table.conversations.map((c) => (
          <tr key={c.key}>
            <td class="peer">cli:{c.cli}</td>
            <td class="peer">mpc:{c.mpc}</td>
            <td>
              {c.conversation ?? <span class="muted">latest mapping</span>}
              {c.teamId ? <span class="muted"> team {c.teamId}</span> : null}
            </td>
            <td title={new Date(c.expiresAt).toISOString()}>{duration(c.expiresAt - now)}</td>
            <td>
              <code>{c.key}</code>
            </td>
          </tr>
        ))}
      </Table>
    </Section>
  );
}

function Waiting({ state, now }: { state: StateView; now: number }) {
  const { table } = state;
  return (
    <Section id="waiting" title="Waiting messages" count={table.waiting.reduce((n, w) => n + w.count, 0)}>
      <Table
        label="Waiting messages"
        head={['For peer', 'Messages', 'Bytes', 'Oldest', 'Next expiry', 'Types']}
        empty={table.readAt ? 'Nothing waits for an offline peer.' : 'Reading the table…'}
      >
        {table.waiting.map((w) => (
          <tr key={w.peer}>
            <td class="peer">{w.peer}</td>
            <td>{w.count}</td>
            <td>{bytes(w.bytes)}</td>
            <td>{duration(now - w.oldestAt)} old</td>
            <td title={new Date(w.nextExpiryAt).toISOString()}>in {duration(w.nextExpiryAt - now)}</td>
            <td>{w.operationTypes.join(', ')}</td>
          </tr>
        ))}
      </Table>
      {table.error ? <p class="alert-text">Could not read the table: {table.error}</p> : null}
      {table.truncated ? (
        <p class="note">The table holds more items than one read takes: lists are partial.</p>
      ) : null}
    </Section>
  );
}

function Rows({ rows }: { rows: TimelineRow[] }) {
  return (
    <Table
      label="Message timeline"
      className="timeline"
      head={['Time', 'From', 'To', 'Operation', 'Size', 'Outcome', 'Latency']}
      empty="No frames match the filters yet."
    >
      {[...rows].reverse().map((r) => (
        <tr
          key={r.seq}
          class={r.outcome === 'refused' || r.outcome === 'error' ? 'problem' : undefined}
          data-outcome={r.outcome}
        >
          <td>
            <time dateTime={new Date(r.at).toISOString()}>{clock(r.at)}</time>
          </td>
          <td class="peer">{r.from ?? '?'}</td>
          <td class="peer to">{r.to ?? 'relay'}</td>
          <td>
            {kindOf(r)}
            {r.operationType && r.route !== 'sendServer' ? <span class="muted"> ({r.route})</span> : null}
            {r.protocol === 'v2' ? <span class="muted"> v2</span> : null}
          </td>
          <td>{bytes(r.bytes)}</td>
          <td>
            <Outcome row={r} />
            {r.deliveredLaterAt ? (
              <span class="muted"> delivered {duration(r.deliveredLaterAt - r.at)} later</span>
            ) : null}
            {r.error ? <span class="muted"> {r.error}</span> : null}
          </td>
          <td>{r.latencyMs} ms</td>
        </tr>
      ))}
    </Table>
  );
}

function Timeline({ rows }: { rows: TimelineRow[] }) {
  const [peer, setPeer] = useState('');
  const [kind, setKind] = useState('');
  const [problemsOnly, setProblemsOnly] = useState(false);
  const [view, setView] = useState<'rows' | 'sequence'>('rows');
  const kinds = useMemo(() => [...new Set(rows.map(kindOf))].sort(), [rows]);
  const shown = rows.filter((r) => matches(r, peer.trim(), kind, problemsOnly));
  return (
    <Section id="timeline" title="Message timeline" count={shown.length}>
      <form class="filters" onSubmit={(e) => e.preventDefault()} aria-label="Timeline filters">
        <label>
          Peer id
          <input
            type="search"
            value={peer}
            placeholder="cli123, mpc:IgniterC56D…"
            onInput={(e) => setPeer((e.target as HTMLInputElement).value)}
          />
        </label>
        <label>
          Operation type
          <select value={kind} onChange={(e) => setKind((e.target as HTMLSelectElement).value)}>
            <option value="">all</option>
            {kinds.map((k) => (
              <option key={k} value={k}>
                {k}
              </option>
            ))}
          </select>
        </label>
        <label class="check">
          <input
            type="checkbox"
            checked={problemsOnly}
            onChange={(e) => setProblemsOnly((e.target as HTMLInputElement).checked)}
          />
          Refusals and errors only
        </label>
        <fieldset class="view">
          <legend>View</legend>
          {(['rows', 'sequence'] as const).map((v) => (
            <label key={v}>
              <input type="radio" name="view" value={v} checked={view === v} onChange={() => setView(v)} />
              {v === 'rows' ? 'Rows' : 'Sequence diagram'}
            </label>
          ))}
        </fieldset>
      </form>
      {view === 'rows' ? <Rows rows={shown} /> : <SequenceDiagram rows={shown} />}
    </Section>
  );
}

function App() {
  const [data, setData] = useState<FeedData>({ status: 'connecting', rows: [], skewMs: 0 });
  useEffect(() => openFeed(setData), []);
  const now = useNow(data.skewMs);
  const state = data.state;
  return (
    <>
      <header>
        <h1>mpc-relay inspector</h1>
        <p class="relay">
          {state ? (
            <>
              <code>{state.relay.url}</code> · auth {state.relay.authMode} · up{' '}
              {duration(now - state.relay.startedAt)}
            </>
          ) : null}
        </p>
        <p class={`status status-${data.status}`} role="status" data-testid="feed-status">
          Feed: {STATUS_TEXT[data.status]}
        </p>
      </header>
      <main>
        {state ? (
          <>
            <Counters state={state} />
            <div class="grid">
              <div class="wide">
                <Timeline rows={data.rows} />
              </div>
              <div class="side">
                <Connections state={state} now={now} />
                <Conversations state={state} now={now} />
                <Waiting state={state} now={now} />
                <Disconnects state={state} now={now} />
              </div>
            </div>
            <p class="footnote">Metadata only: payloads are never sent to this page.</p>
          </>
        ) : (
          <p class="loading">Waiting for the relay…</p>
        )}
      </main>
    </>
  );
}

const root = document.getElementById('app')!;
root.textContent = '';
render(<App />, root);
