import { spawn } from 'node:child_process';
import { type FSWatcher, watch } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import type { LocalGateway } from '@mpc-relay/local-gateway';
import { createIncrementalBuild, type IncrementalBuild } from './dev-build.js';

export interface DevWatchOptions {
  gateway: LocalGateway;
  /** The handlers package whose sources are watched and bundled. Default: the workspace's. */
  handlersPackage?: string;
  /** Folder to watch (recursive). Default: the handlers package's `src`. */
  watchDir?: string;
  /**
   * Rebuilds the bundles; gets the changed paths (relative to the watched folder's parent, e.g.
   * `src/send/route.ts`) and may answer which bundles it rebuilt. Default: esbuild's incremental
   * rebuild of the bundles that include a changed file, with the shipped bundles' options.
   */
  build?: (changed: string[]) => Promise<{ rebuilt?: string[] } | undefined>;
  log?: (line: string) => void;
  debounceMs?: number;
}

export interface DevWatch {
  /** Resolves once no rebuild is running or queued. */
  idle(): Promise<void>;
  close(): void;
}

export function handlersPackageDir(): string {
  const require = createRequire(import.meta.url);
  return dirname(require.resolve('@mpc-relay/handlers/package.json'));
}

/** Runs `pnpm run build` in the handlers package, keeping its output for an error message. */
export function buildHandlers(cwd = handlersPackageDir()): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('pnpm', ['run', '--silent', 'build'], {
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      shell: false,
    });
    let output = '';
    child.stdout.on('data', (c: Buffer) => {
      output += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      output += c.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve();
      else
        reject(
          new Error(
            `handlers build failed (exit ${code}):\n${output.trim().split('\n').slice(-20).join('\n')}`,
          ),
        );
    });
  });
}

/**
 * Watches the handlers' sources; on a change rebuilds the bundles, then tells the gateway to load
 * them for the next event. Open connections are untouched; a failed build keeps the old code.
 */
export function watchHandlers(options: DevWatchOptions): DevWatch {
  const handlersPackage = options.handlersPackage ?? handlersPackageDir();
  const watchDir = options.watchDir ?? join(handlersPackage, 'src');
  const log = options.log ?? (() => {});
  let incremental: Promise<IncrementalBuild> | undefined;
  if (!options.build) {
    // Contexts built and warmed at start, so the first edit already rebuilds incrementally.
    incremental = (async () => {
      const { HANDLER_NAMES } = await import('@mpc-relay/handlers/routes');
      const built = await createIncrementalBuild(handlersPackage, HANDLER_NAMES);
      await built.rebuild().catch(() => {});
      return built;
    })();
    incremental.catch((error: unknown) =>
      log(`watch error: cannot prepare the incremental build: ${(error as Error)?.message ?? error}`),
    );
  }
  const build =
    options.build ??
    (async (changed: string[]) => (await (incremental as Promise<IncrementalBuild>)).rebuild(changed));
  const changed = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let dirty = false;
  let closed = false;

  const rebuild = async (): Promise<void> => {
    do {
      dirty = false;
      const started = Date.now();
      const files = [...changed];
      changed.clear();
      log(
        `${new Date().toISOString().slice(11, 23)} rebuild     ${files.join(', ') || 'handlers'} changed, building...`,
      );
      try {
        const result = await build(files);
        options.gateway.reloadHandlers();
        const which = result?.rebuilt ? result.rebuilt.join(', ') : 'handlers';
        log(
          `${new Date().toISOString().slice(11, 23)} reloaded    ${which} in ${Date.now() - started} ms; open connections kept (${options.gateway.connections().length})`,
        );
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        log(
          `${new Date().toISOString().slice(11, 23)} rebuild     failed, the previous code keeps running until the next good save:\n${reason.replace(/^/gm, '  ')}`,
        );
      }
    } while (dirty && !closed);
  };

  const schedule = () => {
    if (closed) return;
    clearTimeout(timer);
    timer = setTimeout(() => {
      if (running) {
        dirty = true;
        return;
      }
      running = rebuild().finally(() => {
        running = undefined;
      });
    }, options.debounceMs ?? 150);
  };

  const watcher: FSWatcher = watch(watchDir, { recursive: true }, (_event, filename) => {
    if (filename) changed.add(join(basename(watchDir), filename.toString()));
    schedule();
  });
  watcher.on('error', (error) => log(`watch error: ${error.message}`));
  return {
    async idle() {
      for (let i = 0; i < 1000 && (running || timer?.hasRef()); i++) {
        if (running) await running;
        else await new Promise((r) => setTimeout(r, 20));
        if (!running && !dirty) break;
      }
    },
    close() {
      closed = true;
      clearTimeout(timer);
      watcher.close();
      void incremental?.then((b) => b.dispose()).catch(() => {});
    },
  };
}
