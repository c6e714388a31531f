import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FUNCTIONS, type HandlerName } from '../src/routes.js';
import { countRequests } from '../src/store/request-counter.js';
import { fullSig, partialSig } from './helpers/frames.js';
import { type Harness, startHarness } from './helpers/harness.js';

// Infra derives each function's IAM policy from FUNCTIONS: every DynamoDB command a handler sends
// (on every path: delivery, inbox, stale connections, expiry) must be granted there.
describe('FUNCTIONS permissions cover what each handler does', () => {
  let harness: Harness;
  const used = new Map<HandlerName, Set<string>>();
  beforeAll(async () => {
    harness = await startHarness('src');
    const original = harness.relay.handlers;
    const record = (name: HandlerName, commands: Record<string, number>) => {
      const set = used.get(name) ?? new Set<string>();
      for (const command of Object.keys(commands)) set.add(command);
      used.set(name, set);
    };
    const route = original.route;
    harness.relay.handlers.route = async (name, event) => {
      const { result, requests } = await countRequests(() => route(name, event));
      record(name, requests.byCommand);
      return result;
    };
    const authorizer = original.authorizer;
    harness.relay.handlers.authorizer = async (event) => {
      const { result, requests } = await countRequests(() => authorizer(event));
      record('authorizer', requests.byCommand);
      return result;
    };
    const broadcast = original.broadcast;
    harness.relay.handlers.broadcast = async (event) => {
      const { result, requests } = await countRequests(() => broadcast(event));
      record('broadcast', requests.byCommand);
      return result;
    };
  });
  afterAll(async () => {
    await harness?.close();
  });

  it('exercises every path, then compares', async () => {
    const mpc = await harness.relay.connect({ type: 'mpc', id: 'perm-mpc' });
    await mpc.send(partialSig('perm-mpc', 'perm-cli', 'offline')); // stored
    const stale = await harness.relay.connect({ type: 'cli', id: 'perm-cli' });
    harness.management.gone.add(stale.connectionId);
    await mpc.send(partialSig('perm-mpc', 'perm-cli', 'stale')); // stale deleted, stored
    const cli = await harness.relay.connect({ type: 'cli', id: 'perm-cli' });
    await cli.send({ action: 'getConnectionId' }); // inbox drained
    await cli.send(fullSig('perm-cli')); // delivered
    await cli.send({ action: 'ping' });
    await cli.send({ action: 'ack', messageIds: ['x'] });
    await cli.send('nonsense');
    const other = await harness.relay.connect({ type: 'cli', id: 'perm-other' });
    harness.management.gone.add(other.connectionId);
    await harness.relay.handlers.broadcast({ message: 'hi' });
    await cli.disconnect();
    const { disconnectEvent } = await import('./helpers/events.js');
    await harness.relay.handlers.route('disconnect', disconnectEvent({ connectionId: mpc.connectionId }));

    for (const [handler, commands] of used) {
      const granted = FUNCTIONS[handler].permissions.dynamodb.map((action) =>
        action.replace(/^dynamodb:/, ''),
      );
      expect({ handler, commands: [...commands].sort() }).toEqual({
        handler,
        commands: [...commands].filter((command) => granted.includes(command)).sort(),
      });
    }
    // Every handler was exercised.
    expect([...used.keys()].sort()).toEqual(Object.keys(FUNCTIONS).sort());
  });
});
