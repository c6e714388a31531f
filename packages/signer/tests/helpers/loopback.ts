/**
 * Two in-memory peers for testing session protocols without a relay: what one sends reaches the
 * other as a Delivery, through JSON (as on the wire), asynchronously, in order. `tap` sees every
 * message and decides what arrives (drop, duplicate, alter, hold back).
 */
import type { PeerIdentity } from '@mpc-relay/protocol';
import type { Delivery, RelayClient, SendRequest } from '../../src/index.js';

export interface Wire {
  from: PeerIdentity;
  to: PeerIdentity;
  delivery: Delivery;
}

export type Tap = (wire: Wire) => Delivery[] | undefined;

class FakeClient {
  readonly listeners = new Set<(delivery: Delivery) => void>();
  readonly sent: SendRequest[] = [];
  other!: FakeClient;
  tap: Tap | undefined;

  constructor(readonly peer: PeerIdentity) {}

  on(event: string, listener: (delivery: Delivery) => void): () => void {
    if (event !== 'message') return () => {};
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  send(request: SendRequest): Promise<void> {
    this.sent.push(request);
    const wire = JSON.parse(JSON.stringify(request)) as SendRequest;
    const delivery: Delivery = {
      operationType: wire.operationType,
      from: this.peer.id,
      ...(this.peer.type === 'cli' ? { to: this.other.peer.id } : {}),
      message: wire.message,
      ...(wire.sessionId === undefined ? {} : { sessionId: wire.sessionId }),
      raw: JSON.stringify(wire),
    };
    const deliveries = this.tap ? this.tap({ from: this.peer, to: this.other.peer, delivery }) : [delivery];
    for (const each of deliveries ?? []) setImmediate(() => this.other.deliver(each));
    return Promise.resolve();
  }

  deliver(delivery: Delivery): void {
    for (const listener of this.listeners) listener(delivery);
  }
}

export function loopback(mpcId = 'mpc1', cliId = 'cli1') {
  const mpc = new FakeClient({ type: 'mpc', id: mpcId });
  const cli = new FakeClient({ type: 'cli', id: cliId });
  mpc.other = cli;
  cli.other = mpc;
  return {
    mpc,
    cli,
    mpcClient: mpc as unknown as RelayClient,
    cliClient: cli as unknown as RelayClient,
    /** Every message, both ways, passes `tap`. */
    setTap(tap: Tap | undefined) {
      mpc.tap = tap;
      cli.tap = tap;
    },
  };
}
