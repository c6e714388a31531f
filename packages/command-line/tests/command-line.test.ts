import { EventEmitter } from 'node:events';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { addRelayAccessOptions, normalizeArgv, onShutdownSignal, type ShutdownSignal } from '../src/index.js';

describe('normalizeArgv', () => {
  it('drops the `--` pnpm 12 passes through before the flags', () => {
    expect(normalizeArgv(['node', 'demo.js', '--', '--protocol', 'v2'])).toEqual([
      'node',
      'demo.js',
      '--protocol',
      'v2',
    ]);
    expect(normalizeArgv(['node', 'demo.js', '--', '--', '--port', '1'])).toEqual([
      'node',
      'demo.js',
      '--port',
      '1',
    ]);
  });

  it('leaves argv without a leading `--` alone, and a later `--` in place', () => {
    expect(normalizeArgv(['node', 'main.js', '--port', '4000'])).toEqual([
      'node',
      'main.js',
      '--port',
      '4000',
    ]);
    expect(normalizeArgv(['node', 'main.js', 'keygen', '--', '-file'])).toEqual([
      'node',
      'main.js',
      'keygen',
      '--',
      '-file',
    ]);
    expect(normalizeArgv(['node', 'main.js'])).toEqual(['node', 'main.js']);
  });
});

describe('onShutdownSignal', () => {
  function setup() {
    const emitter = new EventEmitter();
    let clock = 0;
    const calls: string[] = [];
    const remove = onShutdownSignal({
      emitter,
      now: () => clock,
      stop: (signal: ShutdownSignal) => calls.push(`stop ${signal}`),
      force: (signal: ShutdownSignal) => calls.push(`force ${signal}`),
    });
    return { emitter, calls, remove, advance: (ms: number) => (clock += ms) };
  }

  it('stops once on the first signal; the echo pnpm forwards within the window changes nothing', () => {
    const { emitter, calls, advance } = setup();
    emitter.emit('SIGINT', 'SIGINT');
    advance(5);
    emitter.emit('SIGINT', 'SIGINT');
    advance(900);
    emitter.emit('SIGTERM', 'SIGTERM');
    expect(calls).toEqual(['stop SIGINT']);
  });

  it('a signal after the window forces the exit', () => {
    const { emitter, calls, advance } = setup();
    emitter.emit('SIGTERM', 'SIGTERM');
    advance(1000);
    emitter.emit('SIGINT', 'SIGINT');
    expect(calls).toEqual(['stop SIGTERM', 'force SIGINT']);
  });

  it('removes its listeners', () => {
    const { emitter, remove } = setup();
    expect(emitter.listenerCount('SIGINT')).toBe(1);
    remove();
    expect(emitter.listenerCount('SIGINT') + emitter.listenerCount('SIGTERM')).toBe(0);
  });
});

describe('addRelayAccessOptions', () => {
  const parse = (argv: string[], env: NodeJS.ProcessEnv = {}) => {
    const saved = { ...process.env };
    Object.assign(process.env, env);
    try {
      const command = addRelayAccessOptions(
        new Command('client').exitOverride(),
        (value) => `parsed:${value}`,
      );
      return command.parse(argv, { from: 'user' }).opts();
    } finally {
      for (const key of Object.keys(env)) delete process.env[key];
      Object.assign(process.env, saved);
    }
  };

  it("defaults to the original demo's static token in the header, protocol v2", () => {
    expect(parse([])).toEqual({ token: 'Allow', tokenIn: 'header', protocol: 'v2' });
  });

  it("reads flags and MPC_RELAY_* variables; --protocol goes through the command's parser", () => {
    expect(parse(['--token', 't', '--token-in', 'query', '--protocol', 'seed'])).toEqual({
      token: 't',
      tokenIn: 'query',
      protocol: 'parsed:seed',
    });
    expect(parse([], { MPC_RELAY_TOKEN: 'e', MPC_RELAY_TOKEN_IN: 'both', MPC_RELAY_PROTOCOL: 'v1' })).toEqual(
      {
        token: 'e',
        tokenIn: 'both',
        protocol: 'parsed:v1',
      },
    );
  });

  it('refuses a --token-in outside header, query, both', () => {
    expect(() => parse(['--token-in', 'cookie'])).toThrow(/Allowed choices are header, query, both/);
  });
});
