/**
 * Counts DynamoDB commands with an SDK middleware. Every document client the handlers create
 * carries it and counts into one process-wide counter kept under a global symbol, so a test, the
 * benchmark or the local relay can read the counts of handlers loaded from the bundles (each bundle
 * has its own copy of this module, the symbol is shared).
 */

export interface RequestCounter {
  total: number;
  byCommand: Record<string, number>;
}

type CountingMiddleware = (
  next: (args: unknown) => Promise<unknown>,
  context: { commandName?: string },
) => (args: unknown) => Promise<unknown>;

/** The minimal middleware stack surface (any AWS SDK v3 client has it; method syntax keeps it bivariant). */
interface MiddlewareClient {
  middlewareStack: {
    add(
      middleware: CountingMiddleware,
      options: { step: 'initialize'; name: string; override?: boolean },
    ): void;
  };
}

const GLOBAL_COUNTER = Symbol.for('mpc-relay.dynamodb.requestCounter');

/** The process-wide counter every handler's DynamoDB client counts into. */
export function dynamoRequestCounter(): RequestCounter {
  const holder = globalThis as unknown as Record<symbol, RequestCounter | undefined>;
  let counter = holder[GLOBAL_COUNTER];
  if (!counter) {
    counter = { total: 0, byCommand: {} };
    holder[GLOBAL_COUNTER] = counter;
  }
  return counter;
}

/** Zeroes a counter (e.g. before measuring one relayed message). */
export function resetRequestCounter(counter: RequestCounter = dynamoRequestCounter()): void {
  counter.total = 0;
  for (const key of Object.keys(counter.byCommand)) delete counter.byCommand[key];
}

/** A copy of the counts, for assertions and reports. */
export function snapshotRequestCounter(counter: RequestCounter = dynamoRequestCounter()): RequestCounter {
  return { total: counter.total, byCommand: { ...counter.byCommand } };
}

/**
 * Adds a counting middleware to an AWS SDK v3 client (counts each command once, retries excluded).
 * The command name drops its `Command` suffix: `PutItem`, `Query`, `GetItem`...
 */
export function attachRequestCounter<T extends { middlewareStack: unknown }>(
  client: T,
  counter: RequestCounter = dynamoRequestCounter(),
): T {
  (client as unknown as MiddlewareClient).middlewareStack.add(
    (next, context) => async (args) => {
      const name = (context.commandName ?? 'Unknown').replace(/Command$/, '');
      counter.total += 1;
      counter.byCommand[name] = (counter.byCommand[name] ?? 0) + 1;
      return next(args);
    },
    { step: 'initialize', name: 'mpcRelayRequestCounter', override: true },
  );
  return client;
}

/** Runs `work` and returns how many DynamoDB commands it sent through counted clients. */
export async function countRequests<T>(
  work: () => Promise<T>,
  counter: RequestCounter = dynamoRequestCounter(),
): Promise<{ result: T; requests: RequestCounter }> {
  const before = snapshotRequestCounter(counter);
  const result = await work();
  const after = snapshotRequestCounter(counter);
  const byCommand: Record<string, number> = {};
  for (const [name, value] of Object.entries(after.byCommand)) {
    const delta = value - (before.byCommand[name] ?? 0);
    if (delta > 0) byCommand[name] = delta;
  }
  return { result, requests: { total: after.total - before.total, byCommand } };
}
