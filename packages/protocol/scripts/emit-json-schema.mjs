// Writes one JSON Schema (draft 2020-12) per frame to schemas/, for services in other languages.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { z } from 'zod';
import { JSON_SCHEMA_FRAMES } from '../dist/index.js';

const outDir = new URL('../schemas/', import.meta.url);
rmSync(outDir, { recursive: true, force: true });
mkdirSync(outDir, { recursive: true });
for (const [name, schema] of Object.entries(JSON_SCHEMA_FRAMES)) {
  const jsonSchema = z.toJSONSchema(schema, { target: 'draft-2020-12', unrepresentable: 'any', io: 'input' });
  jsonSchema.$id = `https://mpc-relay.dev/schemas/${name}.json`;
  jsonSchema.title ??= name;
  writeFileSync(new URL(`${name}.json`, outDir), `${JSON.stringify(jsonSchema, null, 2)}\n`);
}
console.log(`protocol: wrote ${Object.keys(JSON_SCHEMA_FRAMES).length} JSON Schema files to schemas/`);
