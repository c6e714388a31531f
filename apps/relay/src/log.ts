import type { LocalGateway } from '@mpc-relay/local-gateway';

function time(): string {
  return new Date().toISOString().slice(11, 23);
}

function peerOf(query: Record<string, string>, authorizer?: Record<string, unknown>): string {
  if (authorizer?.peerType && authorizer.peerId) return `${authorizer.peerType}:${authorizer.peerId}`;
  if (query.type && (query.cliId || query.mpcId)) return `${query.type}:${query.cliId ?? query.mpcId}`;
  return query.type ?? 'peer:?';
}

/** Only the routing fields of a body: action and operation type. Never the payload. */
function summary(body: string): { action?: string; operationType?: string } {
  try {
    const parsed = JSON.parse(body) as Record<string, unknown>;
    const pick = (v: unknown) => (typeof v === 'string' ? v.slice(0, 64) : undefined);
    return { action: pick(parsed.action), operationType: pick(parsed.operationType) };
  } catch {
    return {};
  }
}

/**
 * One readable line per connect, disconnect, message, management call and Lambda invocation: ids, operation type,
 * sizes and outcome, never payloads (they carry partial signatures).
 */
export function attachLogger(gateway: LocalGateway, log: (line: string) => void): void {
  const peers = new Map<string, string>();
  const messages = new Map<string, { operationType?: string; bytes: number }>();
  gateway.on('connect', (c) => {
    const peer = peerOf(c.query, c.authorizer);
    peers.set(c.connectionId, peer);
    log(
      `${time()} connect     ${c.connectionId} ${peer} from ${c.sourceIp}${c.subprotocol ? ` (${c.subprotocol})` : ''}`,
    );
  });
  gateway.on('connectRefused', (r) => {
    log(`${time()} refused     ${r.connectionId} ${r.status} ${r.reason}`);
  });
  gateway.on('disconnect', (d) => {
    log(`${time()} disconnect  ${d.connectionId} ${peers.get(d.connectionId) ?? ''} ${d.code} ${d.cause}`);
    peers.delete(d.connectionId);
  });
  gateway.on('message', (m) => {
    messages.set(m.requestId, { ...summary(m.body), bytes: m.bytes });
  });
  gateway.on('route', (r) => {
    if (r.routeKey === '$connect' || r.routeKey === '$disconnect') {
      if (r.outcome === 'error' || r.outcome === 'timeout') {
        log(
          `${time()} ${r.routeKey.padEnd(11)} ${r.connectionId} ${r.handler} ${r.outcome}: ${r.error ?? ''}`,
        );
      }
      return;
    }
    const m = messages.get(r.requestId);
    messages.delete(r.requestId);
    const op = m?.operationType ? ` ${m.operationType}` : '';
    const answer = r.responseBytes !== undefined ? ` -> ${r.responseBytes} B` : '';
    const error = r.error ? ` (${r.error})` : '';
    log(
      `${time()} message     ${r.connectionId} ${peers.get(r.connectionId) ?? ''} ${r.routeKey}${op} ${m?.bytes ?? 0} B ${r.outcome}${answer} ${r.durationMs} ms${error}`,
    );
  });
  gateway.on('management', (m) => {
    const verb = m.method === 'POST' ? 'deliver' : m.method.toLowerCase();
    log(
      `${time()} ${verb.padEnd(11)} ${m.connectionId} ${peers.get(m.connectionId) ?? ''} ${m.bytes} B ${m.status}${m.errorType ? ` ${m.errorType}` : ''}`,
    );
  });
  gateway.on('invoke', (i) => {
    const error = i.errorType ? ` ${i.errorType}` : '';
    log(
      `${time()} invoke      ${i.handler ?? i.functionName} ${i.invocationType} ${i.status} ${i.outcome}${error} ${i.durationMs} ms`,
    );
  });
  gateway.on('error', (e) => log(`${time()} error       ${e.message}`));
}
