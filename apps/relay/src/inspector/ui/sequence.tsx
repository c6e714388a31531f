import type { TimelineRow } from '../model.js';
import { clock, kindOf, OUTCOME_SYMBOL, outcomeText } from './format.js';

const ROW_H = 34;
const TOP = 44;
const COL_W = 170;
const MAX_ROWS = 60;
const MAX_LANES = 9;

/**
 * A sequence diagram of the latest rows: one lifeline per peer, mpcs left of the relay and clis
 * right of it. A frame that reached its receiver is an arrow from sender to receiver; one the relay
 * kept (stored), refused or answered ends on the relay's lifeline.
 */
export function SequenceDiagram({ rows }: { rows: TimelineRow[] }) {
  const shown = rows.slice(-MAX_ROWS);
  const peers = new Set<string>();
  for (const row of shown) {
    for (const p of [row.from, row.to]) if (p && p !== 'relay') peers.add(p);
  }
  const sorted = [...peers].sort();
  const mpcs = sorted.filter((p) => !p.startsWith('cli:'));
  const clis = sorted.filter((p) => p.startsWith('cli:'));
  let lanes = [...mpcs, 'relay', ...clis];
  if (lanes.length > MAX_LANES) {
    // Keep the relay and the peers of the latest rows.
    const recent = new Set<string>(['relay']);
    for (const row of [...shown].reverse()) {
      for (const p of [row.from, row.to]) if (p && recent.size < MAX_LANES) recent.add(p);
    }
    lanes = lanes.filter((l) => recent.has(l));
  }
  const x = (lane: string | undefined) => {
    const i = lane ? lanes.indexOf(lane) : -1;
    return i < 0 ? undefined : COL_W / 2 + i * COL_W;
  };
  const width = lanes.length * COL_W;
  const height = TOP + shown.length * ROW_H + 16;
  const relayX = x('relay')!;
  const summary = `Sequence diagram of the last ${shown.length} frames between ${lanes.length - 1} peers and the relay`;
  if (shown.length === 0) return <p class="empty">No frames match the filters yet.</p>;
  return (
    <div class="sequence">
      <svg
        role="img"
        aria-label={summary}
        width={width}
        height={height}
        viewBox={`0 0 ${width} ${height}`}
        data-testid="sequence-diagram"
      >
        <defs>
          {['ok', 'delivered', 'stored', 'duplicate', 'refused', 'error'].map((o) => (
            <marker
              key={o}
              id={`arrow-${o}`}
              viewBox="0 0 10 10"
              refX="9"
              refY="5"
              markerWidth="7"
              markerHeight="7"
              orient="auto-start-reverse"
            >
              <path d="M0,0 L10,5 L0,10 z" class={`head-${o}`} />
            </marker>
          ))}
        </defs>
        {lanes.map((lane) => (
          <g key={lane} class={lane === 'relay' ? 'lane relay' : 'lane'}>
            <text x={x(lane)} y={18} text-anchor="middle" class="lane-name">
              {lane}
            </text>
            <line x1={x(lane)} x2={x(lane)} y1={28} y2={height - 8} />
          </g>
        ))}
        {shown.map((row, i) => {
          const y = TOP + i * ROW_H + 14;
          const fromX = x(row.from) ?? relayX;
          const reached = row.outcome === 'delivered' || row.outcome === 'duplicate';
          let toX = reached || row.from === 'relay' ? (x(row.to) ?? relayX) : relayX;
          if (toX === fromX) toX = fromX + (fromX >= relayX ? -COL_W / 3 : COL_W / 3);
          const mid = (fromX + toX) / 2;
          const kept = row.outcome === 'stored' && row.to ? ` for ${row.to}` : '';
          const label = `${kindOf(row)} ${OUTCOME_SYMBOL[row.outcome]} ${outcomeText(row)}${kept}`;
          const title = `${clock(row.at)} ${row.from ?? '?'} -> ${row.to ?? '?'}: ${kindOf(row)}, ${row.bytes} B, ${outcomeText(row)}, ${row.latencyMs} ms`;
          return (
            <g key={row.seq} class={`msg outcome-${row.outcome}`}>
              <title>{title}</title>
              <line
                x1={fromX}
                x2={toX}
                y1={y}
                y2={y}
                marker-end={`url(#arrow-${row.outcome})`}
                stroke-dasharray={row.outcome === 'stored' ? '5 4' : undefined}
              />
              <text x={mid} y={y - 6} text-anchor="middle">
                {label}
              </text>
            </g>
          );
        })}
      </svg>
    </div>
  );
}
