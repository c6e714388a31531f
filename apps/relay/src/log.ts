import type { LocalGateway } from '@mpc-relay/local-gateway';
import { observeRelay, type RelayObservations } from './inspector/observe.js';

function time(at: number): string {
  return new Date(at).toISOString().slice(11, 23);
}

const verb = (name: string) => name.padEnd(11);

/** Lambda's REPORT line says `Init Duration` on a cold start; so does this one. */
const coldStart = (initDurationMs: number | undefined) =>
  initDurationMs !== undefined ? ` (cold start, init ${Math.round(initDurationMs)} ms)` : '';
const who = (peer: string | undefined) => peer ?? '-';

/**
 * One readable line per connect, refused connect, disconnect, message, post to `@connections` and
 * Lambda invocation: ids, peer, operation type, sizes and the outcome as it is (delivered, stored,
 * duplicate, refused with its code, error), never payloads (they carry partial signatures) nor tokens.
 */
export function attachLogger(source: LocalGateway | RelayObservations, log: (line: string) => void): void {
  const observations = 'storeRequest' in source ? source : observeRelay(source);
  observations.on('connect', (c) => {
    const protocol = c.protocol === 'v2' ? ' (mpc-relay.v2)' : '';
    const teams = c.teams.length > 0 ? ` teams ${c.teams.join(',')}` : '';
    log(
      `${time(c.at)} ${verb('connect')} ${c.connectionId} ${who(c.peer)} from ${c.sourceIp}${protocol}${teams}`,
    );
  });
  observations.on('connectRefused', (r) => {
    log(`${time(r.at)} ${verb('refused')} ${r.connectionId} ${who(r.peer)} ${r.status} ${r.reason}`);
  });
  observations.on('disconnect', (d) => {
    log(`${time(d.at)} ${verb('disconnect')} ${d.connectionId} ${who(d.peer)} ${d.code} ${d.cause}`);
  });
  observations.on('lifecycleError', (e) => {
    log(`${time(e.at)} ${verb('error')} ${e.connectionId} ${who(e.peer)} ${e.routeKey} failed: ${e.error}`);
  });
  observations.on('message', (m) => {
    const op = m.operationType ? ` ${m.operationType}` : '';
    const to = m.to && m.route === 'sendServer' ? ` to ${m.to}` : '';
    const outcome =
      m.outcome === 'refused' || (m.outcome === 'error' && m.code)
        ? `${m.outcome} ${m.code}`
        : m.outcome === 'error'
          ? `error (${m.error ?? 'failed'})`
          : m.outcome;
    const answer = m.responseBytes !== undefined ? ` -> ${m.responseBytes} B` : '';
    log(
      `${time(m.doneAt)} ${verb('message')} ${m.connectionId} ${who(m.from)} ${m.route}${op} ${m.bytes} B${to} ${outcome}${answer} ${m.latencyMs} ms${coldStart(m.initDurationMs)}`,
    );
  });
  observations.on('post', (p) => {
    const error = p.errorType ? ` ${p.errorType}` : '';
    const why =
      p.cause === 'inbox'
        ? ' (waiting message)'
        : p.cause === 'broadcast'
          ? ' (broadcast)'
          : p.code
            ? ` (${p.code})`
            : '';
    log(
      `${time(p.at)} ${verb('deliver')} ${p.connectionId} ${who(p.peer)} ${p.bytes} B ${p.status}${error}${why}`,
    );
  });
  observations.on('management', (m) => {
    const error = m.errorType ? ` ${m.errorType}` : '';
    log(`${time(m.at)} ${verb(m.method.toLowerCase())} ${m.connectionId} ${who(m.peer)} ${m.status}${error}`);
  });
  observations.on('invoke', (i) => {
    const error = i.errorType ? ` ${i.errorType}` : '';
    log(
      `${time(i.at)} ${verb('invoke')} ${i.functionName} ${i.invocationType} ${i.status} ${i.outcome}${error} ${i.durationMs} ms${coldStart(i.initDurationMs)}`,
    );
  });
  observations.on('error', (e) => log(`${time(e.at)} ${verb('error')} ${e.message}`));
}
