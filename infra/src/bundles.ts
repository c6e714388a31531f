import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { HANDLER_NAMES } from '@mpc-relay/handlers/routes';

/** Environment variable naming a folder of prebuilt bundles (e.g. a CI artifact). */
export const BUNDLE_DIR_ENV = 'MPC_RELAY_BUNDLE_DIR';

/** `packages/handlers/dist`, or the folder named by MPC_RELAY_BUNDLE_DIR. */
export function bundleDirectory(env: NodeJS.ProcessEnv = process.env): string {
  const override = env[BUNDLE_DIR_ENV];
  if (override !== undefined && override !== '') return path.resolve(override);
  const handlersPackage = createRequire(import.meta.url).resolve('@mpc-relay/handlers/package.json');
  return path.join(path.dirname(handlersPackage), 'dist');
}

/** Fails before any resource is declared when a handler bundle is missing. */
export function assertBundles(dir: string): void {
  const missing = HANDLER_NAMES.filter((handler) => !existsSync(path.join(dir, handler, 'index.mjs')));
  if (missing.length > 0) {
    throw new Error(
      `Handler bundles missing in ${dir}: ${missing.map((h) => `${h}/index.mjs`).join(', ')}. ` +
        'Build them first: pnpm turbo run build --filter=@mpc-relay/infra...',
    );
  }
}
