/**
 * Module customization hooks for the relay child (registered with `module.register`). Every
 * handler bundle the local gateway imports (`packages/handlers/dist/<name>/index.mjs`) is wrapped:
 * its `handler` export goes through `globalThis.__benchWrapHandler(name, handler)` (installed by
 * instrument.mjs), which counts and times invocations from the outside. The bundle itself is
 * loaded unchanged (same file, `?bench-original` added to its URL).
 */
const BUNDLE =
  /\/(?:packages\/handlers\/dist|bench\/dist\/profiled|bench\/dist\/shipped)\/([^/]+)\/index\.mjs$/;

export async function load(url, context, nextLoad) {
  if (url.startsWith('file:')) {
    const parsed = new URL(url);
    const match = BUNDLE.exec(parsed.pathname);
    if (match && !parsed.searchParams.has('bench-original')) {
      parsed.searchParams.set('bench-original', '1');
      const original = JSON.stringify(parsed.href);
      const name = JSON.stringify(match[1]);
      const source = [
        `import * as original from ${original};`,
        `export * from ${original};`,
        'const wrap = globalThis.__benchWrapHandler;',
        `export const handler = wrap ? wrap(${name}, original.handler) : original.handler;`,
      ].join('\n');
      return { format: 'module', source, shortCircuit: true };
    }
  }
  return nextLoad(url, context);
}
