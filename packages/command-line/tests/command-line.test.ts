import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { normalizeArgv, onShutdownSignal, type ShutdownSignal } from '../src/index.js';

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
