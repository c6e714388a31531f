import { AsyncLocalStorage } from 'node:async_hooks';

const scope = new AsyncLocalStorage<Readonly<Record<string, string>>>();
let installed = false;

/**
 * Handlers read their configuration from `process.env`, as on Lambda. Several gateways in one
 * process (tests, benchmarks) must not see each other's values, even while their handlers
 * interleave across awaits: `process.env` becomes a view that, inside `runWithEnv`, shows that
 * gateway's values over the real environment (for the whole async call tree of the invocation).
 * Outside any invocation it is the real environment, unchanged; writes always go to the real one.
 */
function install(): void {
  if (installed) return;
  installed = true;
  const real = process.env;
  const own = (key: string | symbol): string | undefined => {
    const values = scope.getStore();
    return typeof key === 'string' && values && Object.hasOwn(values, key) ? values[key] : undefined;
  };
  process.env = new Proxy(real, {
    get: (target, key) => own(key) ?? Reflect.get(target, key),
    has: (target, key) => own(key) !== undefined || Reflect.has(target, key),
    ownKeys: (target) => {
      const keys = new Set(Reflect.ownKeys(target));
      for (const key of Object.keys(scope.getStore() ?? {})) keys.add(key);
      return [...keys];
    },
    getOwnPropertyDescriptor: (target, key) => {
      const value = own(key);
      if (value !== undefined) return { value, writable: true, enumerable: true, configurable: true };
      return Reflect.getOwnPropertyDescriptor(target, key);
    },
  });
}

/** Runs `fn` (and everything it starts) with `env` layered over process.env. */
export function runWithEnv<T>(env: Readonly<Record<string, string>>, fn: () => T): T {
  install();
  return scope.run(env, fn);
}
