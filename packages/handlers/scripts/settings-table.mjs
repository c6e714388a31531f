// Rewrites the settings table of README.md ("Environment variables") from the contract in
// src/settings.ts (built: dist/lib/settings.js). tests/settings.test.ts fails while they differ.
import { readFileSync, writeFileSync } from 'node:fs';
import { settingsTable } from '../dist/lib/settings.js';

const readme = new URL('../README.md', import.meta.url);
const START =
  '<!-- settings:start (generated from src/settings.ts: pnpm --filter @mpc-relay/handlers readme:settings) -->';
const END = '<!-- settings:end -->';
const text = readFileSync(readme, 'utf8');
const from = text.indexOf(START);
const to = text.indexOf(END);
if (from < 0 || to < from) throw new Error(`README.md has no ${START} ... ${END} block`);
writeFileSync(readme, `${text.slice(0, from + START.length)}\n${settingsTable()}\n${text.slice(to)}`);
