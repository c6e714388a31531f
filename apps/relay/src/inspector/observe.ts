import { EventEmitter } from 'node:events';
import type { DisconnectCause, GatewayEvents, LocalGateway } from '@mpc-relay/local-gateway';
import {
  type ClientFrameSummary,
  RELAY_FAILURE_CODES,
  type RelayFrameSummary,
  summarizeClientFrame,
  summarizeRelayFrame,
} from './frames.js';

/**
 * The relay's outcomes as one structured stream, derived from what the gateway sees (route
 * answers, posts to `@connections` and their status, connects and disconnects), never from handler
 * state: handlers may run anywhere. The log and the inspector both read it.
 */

export type Protocol = 'v1' | 'v2';

/**
 * - delivered / stored / duplicate: what became of a relayed message (v2: the relay's ack; v1: a
 *   post that reached the receiver, or none, so it waits in the receiver's inbox);
 * - refused: the sender got an error frame (`code`);
 * - error: the relay failed (handler error or timeout, `INTERNAL`, `THROTTLED`);
 * - ok: any other frame handled (getConnectionId, ping, ack).
 */
export type Outcome = 'delivered' | 'stored' | 'duplicate' | 'refused' | 'error' | 'ok';

export interface ConnectionObservation {
  connectionId: string;
  /** `cli:ID` / `mpc:ID`, when known. */
  peer?: string;
  protocol: Protocol;
  teams: string[];
  sourceIp: string;
  connectedAt: number;
}

export interface Delivery {
  connectionId: string;
  peer?: string;
  status: number;
  bytes: number;
}

/** One client frame and what became of it. */
export interface MessageObservation {
  /** The gateway's request id. */
  id: string;
  /** When the gateway dispatched it (epoch ms). */
  at: number;
  /** When its handler answered. */
  doneAt: number;
  connectionId: string;
  from?: string;
  to?: string;
  route: string;
  operationType?: string;
  bytes: number;
  protocol: Protocol;
  clientMsgId?: string;
  conversation?: string;
  outcome: Outcome;
  /** Error code (refused / error frames) or the gateway's frame (`Forbidden`). */
  code?: string;
  /** The relay's own failure (handler error, timeout); never a client's text. */
  error?: string;
  /** To the first delivery when delivered, else until the handler answered. */
  latencyMs: number;
  handlerMs: number;
  /** A cold start: INIT duration of the execution environment the invocation started. */
  initDurationMs?: number;
  responseBytes?: number;
  deliveries: Delivery[];
}

/** A post to `@connections` that no relayed frame of this moment explains by itself. */
export interface PostObservation {
  at: number;
  connectionId: string;
  peer?: string;
  status: number;
  bytes: number;
  errorType?: string;
  /**
   * relay: part of a relayed message (also in its MessageObservation); inbox: a waiting message
   * delivered (getConnectionId / ping of the receiver); broadcast; report: an error frame (EXPIRED,
   * TOKEN_EXPIRED); other.
   */
  cause: 'relay' | 'inbox' | 'broadcast' | 'report' | 'other';
  operationType?: string;
  from?: string;
  code?: string;
  /** Request id of the frame being handled when it was posted, if any. */
  requestId?: string;
}

export interface ObservationEvents {
  connect: [ConnectionObservation & { at: number }];
  connectRefused: [{ at: number; connectionId: string; peer?: string; status: number; reason: string }];
  disconnect: [
    { at: number; connectionId: string; peer?: string; code: number; reason: string; cause: DisconnectCause },
  ];
  message: [MessageObservation];
  /** `$connect` / `$disconnect` handler failures (a refused `$connect` is a connectRefused). */
  lifecycleError: [{ at: number; connectionId: string; peer?: string; routeKey: string; error: string }];
  post: [PostObservation];
  management: [
    { at: number; method: string; connectionId: string; peer?: string; status: number; errorType?: string },
  ];
  invoke: [
    {
      at: number;
      functionName: string;
      invocationType: string;
      status: number;
      outcome: string;
      durationMs: number;
      errorType?: string;
      /** A cold start: INIT duration of the execution environment the invocation started. */
      initDurationMs?: number;
    },
  ];
  /** One DynamoDB request that reached the store. */
  store: [{ at: number; operation: string }];
  error: [{ at: number; message: string }];
}

export interface RelayObservations {
  on<K extends keyof ObservationEvents>(
    event: K,
    listener: (...args: ObservationEvents[K]) => void,
  ): RelayObservations;
  off<K extends keyof ObservationEvents>(
    event: K,
    listener: (...args: ObservationEvents[K]) => void,
  ): RelayObservations;
  /** What is known of a connection (also shortly after it closed). */
  connection(connectionId: string): ConnectionObservation | undefined;
  /** Feeds one DynamoDB request (the store calls it). */
  storeRequest(operation: string): void;
  /** Stops listening to the gateway. */
  detach(): void;
}

interface Pending {
  observation: MessageObservation;
  summary: ClientFrameSummary;
  /** An error frame posted to the sender while its frame was handled (TOKEN_EXPIRED). */
  postedError?: string;
}

type Listener<K extends keyof GatewayEvents> = (...args: GatewayEvents[K]) => void;

const V2 = 'mpc-relay.v2';
/** Frames in flight at once; past it the oldest is forgotten (its route event never came). */
const PENDING_MAX = 10_000;
/** Connections remembered after they closed, so late lines (acks queued before the close) name the peer. */
const CLOSED_REMEMBERED = 1_000;
/** Conversations remembered to name the receiver of a cli's reply that was not delivered at once. */
const CONVERSATIONS_REMEMBERED = 5_000;

function peerOf(query: Record<string, string>, authorizer?: Record<string, unknown>): string | undefined {
  if (typeof authorizer?.peerType === 'string' && typeof authorizer.peerId === 'string')
    return `${authorizer.peerType}:${authorizer.peerId}`;
  if ((query.type === 'cli' && query.cliId) || (query.type === 'mpc' && query.mpcId))
    return `${query.type}:${query.type === 'cli' ? query.cliId : query.mpcId}`;
  return undefined;
}

const idOf = (peer: string | undefined) => peer?.slice(peer.indexOf(':') + 1);
const typeOf = (peer: string | undefined) => peer?.slice(0, peer.indexOf(':'));

function boundedSet<K, V>(map: Map<K, V>, key: K, value: V, max: number): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > max) map.delete(map.keys().next().value as K);
}

/** Starts observing a gateway. */
export function observeRelay(gateway: LocalGateway): RelayObservations {
  const emitter = new EventEmitter();
  const emit = <K extends keyof ObservationEvents>(event: K, ...args: ObservationEvents[K]) => {
    try {
      emitter.emit(event, ...args);
    } catch {
      // a listener's bug must not break the relay
    }
  };
  const live = new Map<string, ConnectionObservation>();
  const closed = new Map<string, ConnectionObservation>();
  const pending = new Map<string, Pending>();
  /** `cli\nconversation` (`cli\n` for the latest mapping) -> the mpc a reply goes to. */
  const conversations = new Map<string, string>();
  const connection = (id: string) => live.get(id) ?? closed.get(id);
  const peerLabel = (id: string) => connection(id)?.peer;

  // As the relay routes a reply: by its conversation when it names one, else to the latest mpc.
  const remember = (cli: string, conversation: string | undefined, mpc: string) =>
    boundedSet(conversations, `${cli}\n${conversation ?? ''}`, mpc, CONVERSATIONS_REMEMBERED);

  const onConnect: Listener<'connect'> = (c) => {
    const teams =
      typeof c.authorizer?.teams === 'string' ? c.authorizer.teams.split(',').filter(Boolean) : [];
    const peer = peerOf(c.query, c.authorizer);
    const info: ConnectionObservation = {
      connectionId: c.connectionId,
      ...(peer ? { peer } : {}),
      protocol: c.subprotocol === V2 ? 'v2' : 'v1',
      teams,
      sourceIp: c.sourceIp,
      connectedAt: Date.now(),
    };
    live.set(c.connectionId, info);
    emit('connect', { ...info, at: info.connectedAt });
  };
  const onConnectRefused: Listener<'connectRefused'> = (r) => {
    // The peer the request claimed (not authenticated: it was refused).
    const peer = r.query ? peerOf(r.query) : undefined;
    emit('connectRefused', {
      at: Date.now(),
      connectionId: r.connectionId,
      ...(peer ? { peer } : {}),
      status: r.status,
      reason: r.reason,
    });
  };
  const onDisconnect: Listener<'disconnect'> = (d) => {
    const info = live.get(d.connectionId);
    live.delete(d.connectionId);
    if (info) boundedSet(closed, d.connectionId, info, CLOSED_REMEMBERED);
    emit('disconnect', {
      at: Date.now(),
      connectionId: d.connectionId,
      ...(info?.peer ? { peer: info.peer } : {}),
      code: d.code,
      reason: d.reason,
      cause: d.cause,
    });
  };
  const onMessage: Listener<'message'> = (m) => {
    const summary = summarizeClientFrame(m.body);
    const from = peerLabel(m.connectionId);
    const protocol: Protocol = connection(m.connectionId)?.protocol ?? 'v1';
    const observation: MessageObservation = {
      id: m.requestId,
      at: Date.now(),
      connectionId: m.connectionId,
      ...(from ? { from } : {}),
      route: m.routeKey,
      ...(summary.operationType ? { operationType: summary.operationType } : {}),
      bytes: m.bytes,
      protocol,
      ...(summary.clientMsgId ? { clientMsgId: summary.clientMsgId } : {}),
      ...(summary.conversation ? { conversation: summary.conversation } : {}),
      outcome: 'ok',
      doneAt: 0,
      latencyMs: 0,
      handlerMs: 0,
      deliveries: [],
    };
    if (m.routeKey === 'sendServer' && typeOf(from) === 'mpc' && summary.targetCli)
      observation.to = `cli:${summary.targetCli}`;
    pending.set(m.requestId, { observation, summary });
    if (pending.size > PENDING_MAX) pending.delete(pending.keys().next().value as string);
  };

  /** The frame being handled that a post belongs to. */
  function ownerOf(
    connectionId: string,
    frame: RelayFrameSummary,
  ): { pending: Pending; cause: PostObservation['cause'] } | undefined {
    let onTarget: Pending | undefined;
    for (const p of pending.values()) {
      const o = p.observation;
      if (
        frame.kind === 'delivery' &&
        o.route === 'sendServer' &&
        idOf(o.from) === frame.from &&
        o.operationType === frame.operationType &&
        o.connectionId !== connectionId
      )
        return { pending: p, cause: 'relay' };
      if (o.connectionId === connectionId) onTarget ??= p;
    }
    if (!onTarget) return undefined;
    return { pending: onTarget, cause: frame.kind === 'delivery' ? 'inbox' : 'report' };
  }

  const onManagement: Listener<'management'> = (m) => {
    const at = Date.now();
    const peer = peerLabel(m.connectionId);
    if (m.method !== 'POST' || m.body === undefined) {
      emit('management', {
        at,
        method: m.method,
        connectionId: m.connectionId,
        ...(peer ? { peer } : {}),
        status: m.status,
        ...(m.errorType ? { errorType: m.errorType } : {}),
      });
      return;
    }
    const frame = summarizeRelayFrame(m.body);
    const owner = ownerOf(m.connectionId, frame);
    let cause: PostObservation['cause'] = owner?.cause ?? 'other';
    if (frame.kind === 'delivery' && frame.from === 'relay' && !owner) cause = 'broadcast';
    if (frame.kind === 'error' && !owner) cause = 'report';
    if (owner && cause === 'relay') {
      const o = owner.pending.observation;
      o.deliveries.push({
        connectionId: m.connectionId,
        ...(peer ? { peer } : {}),
        status: m.status,
        bytes: m.bytes,
      });
      if (m.status === 200 && !o.latencyMs) o.latencyMs = Math.max(0, at - o.at);
      if (peer && !o.to) o.to = peer;
    }
    if (owner && frame.kind === 'error' && owner.pending.observation.connectionId === m.connectionId)
      owner.pending.postedError = frame.code;
    emit('post', {
      at,
      connectionId: m.connectionId,
      ...(peer ? { peer } : {}),
      status: m.status,
      bytes: m.bytes,
      ...(m.errorType ? { errorType: m.errorType } : {}),
      cause,
      ...(frame.kind === 'delivery' ? { operationType: frame.operationType, from: frame.from } : {}),
      ...(frame.kind === 'error' ? { code: frame.code } : {}),
      ...(owner ? { requestId: owner.pending.observation.id } : {}),
    });
  };

  const onRoute: Listener<'route'> = (r) => {
    if (r.routeKey === '$connect' || r.routeKey === '$disconnect') {
      if (r.outcome === 'error' || r.outcome === 'timeout' || r.outcome === 'throttled') {
        const peer = peerLabel(r.connectionId);
        emit('lifecycleError', {
          at: Date.now(),
          connectionId: r.connectionId,
          ...(peer ? { peer } : {}),
          routeKey: r.routeKey,
          error: r.error ?? r.outcome,
        });
      }
      if (r.routeKey === '$disconnect') closed.delete(r.connectionId);
      return;
    }
    const p = pending.get(r.requestId);
    if (!p) return;
    pending.delete(r.requestId);
    const o = p.observation;
    o.handlerMs = r.durationMs;
    if (r.initDurationMs !== undefined) o.initDurationMs = r.initDurationMs;
    o.doneAt = Date.now();
    if (r.responseBytes !== undefined) o.responseBytes = r.responseBytes;
    const answer = r.response !== undefined ? summarizeRelayFrame(r.response) : undefined;
    const failed = (code: string) => {
      o.outcome = RELAY_FAILURE_CODES.has(code) ? 'error' : 'refused';
      o.code = code;
    };
    if (r.outcome === 'error' || r.outcome === 'timeout' || r.outcome === 'throttled') {
      o.outcome = 'error';
      o.error =
        r.outcome === 'timeout'
          ? `timed out: ${r.error ?? ''}`.trim()
          : r.outcome === 'throttled'
            ? `throttled: ${r.error ?? ''}`.trim()
            : (r.error ?? 'handler failed');
    } else if (r.outcome === 'forbidden') {
      o.outcome = 'refused';
      o.code = 'Forbidden';
    } else if (answer?.kind === 'error') failed(answer.code);
    else if (p.postedError) failed(p.postedError);
    else if (answer?.kind === 'ack')
      o.outcome =
        answer.status === 'duplicate' ? 'duplicate' : answer.status === 'stored' ? 'stored' : 'delivered';
    else if (o.route === 'sendServer')
      o.outcome = o.deliveries.some((d) => d.status === 200) ? 'delivered' : 'stored';
    const accepted = o.outcome === 'delivered' || o.outcome === 'stored' || o.outcome === 'duplicate';
    if (o.route === 'sendServer' && accepted && !o.to && typeOf(o.from) === 'cli') {
      const cli = idOf(o.from)!;
      const mpc = conversations.get(`${cli}\n${o.conversation ?? ''}`);
      if (mpc) o.to = mpc;
    }
    if (o.route === 'sendServer' && typeOf(o.from) === 'mpc' && o.to && accepted)
      remember(idOf(o.to)!, o.conversation, o.from!);
    if (!o.latencyMs || o.outcome !== 'delivered') o.latencyMs = r.durationMs;
    emit('message', o);
  };
  const onInvoke: Listener<'invoke'> = (i) => {
    emit('invoke', {
      at: Date.now(),
      functionName: i.handler ?? i.functionName,
      invocationType: i.invocationType,
      status: i.status,
      outcome: i.outcome,
      durationMs: i.durationMs,
      ...(i.errorType ? { errorType: i.errorType } : {}),
      ...(i.initDurationMs !== undefined ? { initDurationMs: i.initDurationMs } : {}),
    });
  };
  const onError = (e: Error) => emit('error', { at: Date.now(), message: e.message });

  // One list for attaching and detaching, so every listener added is removed again.
  const listeners = {
    connect: onConnect,
    connectRefused: onConnectRefused,
    disconnect: onDisconnect,
    message: onMessage,
    management: onManagement,
    route: onRoute,
    invoke: onInvoke,
    error: onError,
  } satisfies { [K in keyof GatewayEvents]?: Listener<K> };
  const listen = (method: 'on' | 'off') => {
    for (const [event, listener] of Object.entries(listeners))
      gateway[method](event as keyof GatewayEvents, listener as Listener<keyof GatewayEvents>);
  };
  listen('on');

  const observations: RelayObservations = {
    on(event, listener) {
      emitter.on(event, listener as (...args: unknown[]) => void);
      return observations;
    },
    off(event, listener) {
      emitter.off(event, listener as (...args: unknown[]) => void);
      return observations;
    },
    connection,
    storeRequest(operation) {
      emit('store', { at: Date.now(), operation });
    },
    detach() {
      listen('off');
    },
  };
  return observations;
}
