import { join, relative, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { BuildContext, BuildOptions, Message } from 'esbuild';

/** What a rebuild did: the bundles it wrote, or why it could not. */
export interface RebuildResult {
  rebuilt: string[];
  ms: number;
}

export interface IncrementalBuild {
  /**
   * Rebuilds the bundles whose inputs include one of `changed` (paths relative to the handlers
   * package, e.g. `src/send/route.ts`); every bundle when a path is no bundle's input yet (a new
   * file) or none is given. Rejects with esbuild's first errors; the bundles on disk stay as they were.
   */
  rebuild(changed?: readonly string[]): Promise<RebuildResult>;
  dispose(): Promise<void>;
}

type BundleOptions = (entry: string, outfile: string) => BuildOptions;

/**
 * One esbuild context per handler bundle, with the shipped bundles' exact options
 * (`packages/handlers/scripts/bundle-options.mjs`): a rebuild parses only what changed since the
 * last one, and only the bundles that include a changed file are rebuilt. No type check (that is
 * `pnpm typecheck`'s job) and no route table rebuild (a new route needs a restart of `pnpm dev`).
 */
export async function createIncrementalBuild(
  handlersPackage: string,
  names: readonly string[],
  /** Where `<handler>/index.mjs` go. Default: the package's `dist`, where the gateway loads them. */
  outDir = join(handlersPackage, 'dist'),
): Promise<IncrementalBuild> {
  const esbuild = await import('esbuild');
  const { handlerBundleOptions } = (await import(
    pathToFileURL(join(handlersPackage, 'scripts', 'bundle-options.mjs')).href
  )) as { handlerBundleOptions: BundleOptions };
  const contexts = new Map<string, { context: BuildContext; inputs: Set<string> }>();
  for (const name of names) {
    const options = handlerBundleOptions(
      join(handlersPackage, 'src', 'handlers', `${name}.ts`),
      join(outDir, name, 'index.mjs'),
    );
    const context = await esbuild.context({
      ...options,
      absWorkingDir: handlersPackage,
      metafile: true,
      logLevel: 'silent',
    });
    contexts.set(name, { context, inputs: new Set() });
  }

  const normalize = (path: string) => path.split(sep).join('/');
  const build = async (name: string) => {
    const entry = contexts.get(name)!;
    const result = await entry.context.rebuild();
    entry.inputs = new Set(Object.keys(result.metafile?.inputs ?? {}).map(normalize));
  };

  return {
    async rebuild(changed = []) {
      const started = performance.now();
      const files = changed.map(normalize);
      const known = (file: string) => [...contexts.values()].some((c) => c.inputs.has(file));
      const targets =
        files.length === 0 || !files.every(known)
          ? [...contexts.keys()]
          : [...contexts].filter(([, c]) => files.some((f) => c.inputs.has(f))).map(([name]) => name);
      const outcomes = await Promise.allSettled(targets.map(build));
      const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
      if (failed) throw new Error(describeBuildFailure(failed.reason, handlersPackage));
      return { rebuilt: targets, ms: Math.round(performance.now() - started) };
    },
    async dispose() {
      await Promise.all([...contexts.values()].map((c) => c.context.dispose()));
    },
  };
}

/** esbuild's first errors as `file:line:column: text`, relative to the handlers package. */
function describeBuildFailure(error: unknown, base: string): string {
  const errors = (error as { errors?: Message[] })?.errors;
  if (!errors?.length) return error instanceof Error ? error.message : String(error);
  return errors
    .slice(0, 3)
    .map((e) => {
      const where = e.location
        ? `${relative(base, join(base, e.location.file))}:${e.location.line}:${e.location.column}: `
        : '';
      return `${where}${e.text}`;
    })
    .join('\n');
}
