/**
 * The zod build the protocol's schemas are written with: `zod/mini` (the same schemas, parsers,
 * types and JSON Schema as classic zod, as functions instead of methods), so a bundle that only
 * validates frames, like a relay handler, does not carry classic zod's method API. Every schema
 * module imports zod from here.
 */
import { en } from 'zod/locales';
import { config, type core, globalRegistry, type ZodMiniType } from 'zod/mini';

// Classic zod registers English on first use; zod/mini registers no locale, and the protocol's
// texts (error frames) are English. A locale the application configured first wins, as with classic.
if (!config().localeError) config(en());

export * from 'zod/mini';

/**
 * Classic zod's `schema.describe(text)`: a copy of the schema carrying a description, for JSON
 * Schema. Metadata, not a check (zod/mini's `z.describe` is a check, and an object schema with a
 * check can no longer be extended). Use it as `schema.apply(described, text)`.
 */
export function described<T extends ZodMiniType>(schema: T, description: string): T {
  return withMetadata(schema, { description });
}

/**
 * A top-level schema with its JSON Schema description: `build()`'s schema, `described`. Call it
 * marked `@__PURE__`: its arguments, a text and a function, are free of side effects where zod/mini's
 * method calls (`.check`, `.apply`) are not known to be, so a bundle that never reads the schema
 * drops it, building and all.
 */
export function describedSchema<T extends ZodMiniType>(description: string, build: () => T): T {
  return described(build(), description);
}

/** Classic zod's `schema.meta(metadata)`: a copy of the schema carrying JSON Schema metadata. */
export function withMetadata<T extends ZodMiniType>(schema: T, metadata: core.GlobalMeta): T {
  const copy = schema.clone();
  globalRegistry.add(copy, metadata);
  return copy;
}
