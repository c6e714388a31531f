import { type Command, Option } from 'commander';

/**
 * `pnpm start -- --port 4000` hands the program a literal `--` before the flags (pnpm 12 passes it
 * through to the script); commander would then read every flag as a positional argument. Drops a
 * leading `--` (and repeats of it), keeps a `--` after other arguments, where it means "end of flags".
 */
export function normalizeArgv(argv: readonly string[]): string[] {
  const [node = 'node', script = 'command', ...rest] = argv;
  let start = 0;
  while (rest[start] === '--') start += 1;
  return [node, script, ...rest.slice(start)];
}

export type ShutdownSignal = 'SIGINT' | 'SIGTERM';

export interface ShutdownOptions {
  /** Called once, on the first SIGINT or SIGTERM: stop cleanly, then exit 0. */
  stop: (signal: ShutdownSignal) => void;
  /** Called on a later signal (someone insists): exit now, non-zero. */
  force: (signal: ShutdownSignal) => void;
  /**
   * A Ctrl-C under `pnpm start` arrives twice: the terminal signals the whole foreground process
   * group and pnpm forwards the signal it received to its child. A repeat within this window is
   * that echo, not a second request. Default 1000 ms.
   */
  echoWindowMs?: number;
  /** For tests: where the signals come from (default `process`). */
  emitter?: NodeJS.EventEmitter;
  now?: () => number;
}

/** Installs SIGINT / SIGTERM listeners for a clean shutdown; returns a function that removes them. */
export function onShutdownSignal(options: ShutdownOptions): () => void {
  const emitter = options.emitter ?? process;
  const now = options.now ?? Date.now;
  const echoWindowMs = options.echoWindowMs ?? 1000;
  let firstAt: number | undefined;
  const listener = (signal: ShutdownSignal) => {
    if (firstAt === undefined) {
      firstAt = now();
      options.stop(signal);
    } else if (now() - firstAt >= echoWindowMs) {
      options.force(signal);
    }
  };
  emitter.on('SIGINT', listener);
  emitter.on('SIGTERM', listener);
  return () => {
    emitter.off('SIGINT', listener);
    emitter.off('SIGTERM', listener);
  };
}

/**
 * Adds what every relay client command reads to authenticate and pick its protocol: `--token`,
 * `--token-in`, `--protocol` (with their MPC_RELAY_* variables). `parseProtocol` reads `--protocol`;
 * each command passes its own, which warns about v1's former name where that command prints.
 */
export function addRelayAccessOptions(command: Command, parseProtocol: (value: string) => unknown): Command {
  return command
    .addOption(
      new Option('--token <token>', "token for the relay's authorizer")
        .env('MPC_RELAY_TOKEN')
        .default('Allow'),
    )
    .addOption(
      new Option('--token-in <where>', 'where the token goes')
        .choices(['header', 'query', 'both'])
        .env('MPC_RELAY_TOKEN_IN')
        .default('header'),
    )
    .addOption(
      new Option('--protocol <protocol>', 'v2 (acks, redelivery; falls back to v1) or v1 (v1-only relays)')
        .choices(['v2', 'v1'])
        .argParser(parseProtocol)
        .env('MPC_RELAY_PROTOCOL')
        .default('v2'),
    );
}
