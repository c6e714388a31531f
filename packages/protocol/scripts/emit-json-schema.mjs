// Writes one JSON Schema (draft 2020-12) per frame to schemas/, for services in other languages.
// Runs after tsc (it reads dist/), as the last step of `pnpm build`.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { buildJsonSchemas } from '../dist/index.js';

const outDir = new URL('../schemas/', import.meta.url);
const documents = buildJsonSchemas();
rmSync(outDir, { recursive: true, force: true });
mkdirSync(outDir, { recursive: true });
for (const [name, document] of Object.entries(documents)) {
  writeFileSync(new URL(`${name}.json`, outDir), `${JSON.stringify(document, null, 2)}\n`);
}
console.log(`protocol: wrote ${Object.keys(documents).length} JSON Schema files to schemas/`);
