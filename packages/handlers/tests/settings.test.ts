import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { HANDLER_NAMES } from '../src/routes.js';
import { ConfigError, SETTINGS, settingsOf, settingsTable, stringSetting } from '../src/settings.js';

const SRC = path.join(import.meta.dirname, '..', 'src');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? sources(path.join(dir, entry.name))
      : entry.name.endsWith('.ts')
        ? [path.join(dir, entry.name)]
        : [],
  );
}

/**
 * Environment variable names a source reads: `process.env.X`, `process.env['X']`, `env.X`,
 * `env['X']`, and any helper called as `f(env, 'X')` (the contract's readers, local helpers).
 */
export function envReads(text: string): Set<string> {
  const names = new Set<string>();
  const patterns = [
    /\b(?:process\.)?env(?:\?)?\.([A-Z][A-Z0-9_]+)\b/g,
    /\b(?:process\.)?env\[\s*['"`]([A-Z][A-Z0-9_]+)['"`]\s*\]/g,
    /\(\s*(?:process\.)?env\s*,\s*['"`]([A-Z][A-Z0-9_]+)['"`]/g,
  ];
  for (const pattern of patterns) for (const match of text.matchAll(pattern)) names.add(match[1]!);
  return names;
}

/** Read by Powertools itself, not by the relay's code. */
const READ_BY_POWERTOOLS = new Set(['LOG_LEVEL', 'POWERTOOLS_LOG_LEVEL']);

describe('the configuration contract (src/settings.ts)', () => {
  const declared = new Set<string>(SETTINGS.map((setting) => setting.name));
  const reads = new Map<string, string[]>();
  for (const file of sources(SRC)) {
    if (file.endsWith(`${path.sep}settings.ts`)) continue;
    for (const name of envReads(readFileSync(file, 'utf8'))) {
      reads.set(name, [...(reads.get(name) ?? []), path.relative(SRC, file)]);
    }
  }

  it('declares every environment variable a handler source reads', () => {
    const undeclared = [...reads.entries()].filter(([name]) => !declared.has(name));
    expect(undeclared, 'read but not declared in src/settings.ts').toEqual([]);
    expect(reads.size).toBeGreaterThan(20);
  });

  it('declares nothing no source (or Powertools) reads', () => {
    const unread = [...declared].filter((name) => !reads.has(name) && !READ_BY_POWERTOOLS.has(name));
    expect(unread).toEqual([]);
  });

  it('the scan finds reads in every form the sources use (and would catch a new one)', () => {
    const sample = [
      "const a = process.env.NEW_LIMIT ?? '1';",
      "const b = process.env['OTHER_LIMIT'];",
      'const c = env.INBOX_THING?.trim();',
      "const d = integerSetting(env, 'FOURTH_ONE');",
      "const e = optional(process.env, 'FIFTH_ONE');",
    ].join('\n');
    expect([...envReads(sample)].sort()).toEqual([
      'FIFTH_ONE',
      'FOURTH_ONE',
      'INBOX_THING',
      'NEW_LIMIT',
      'OTHER_LIMIT',
    ]);
  });

  it('reading an undeclared name through the contract throws', () => {
    expect(() => stringSetting({ NOPE: 'x' }, 'NOPE' as never)).toThrow(ConfigError);
  });

  it('every entry is complete and names real handlers; each name once', () => {
    expect(declared.size).toBe(SETTINGS.length);
    for (const setting of SETTINGS) {
      expect(setting.meaning.length, setting.name).toBeGreaterThan(5);
      expect(setting.handlers.length, setting.name).toBeGreaterThan(0);
      for (const handler of setting.handlers) expect(HANDLER_NAMES).toContain(handler);
      if (setting.type === 'integer') {
        const { min, max } = setting as { min: number; max: number; default?: string };
        expect(min).toBeLessThanOrEqual(max);
        const fallback = (setting as { default?: string }).default;
        if (fallback !== undefined) expect(Number(fallback)).toBeGreaterThanOrEqual(min);
      }
    }
    for (const handler of HANDLER_NAMES) expect(settingsOf(handler).length).toBeGreaterThan(3);
  });

  it("the contract's defaults are what the handlers use", () => {
    const config = loadConfig({ TABLE_NAME: 't' });
    const byName = Object.fromEntries(SETTINGS.map((s) => [s.name, (s as { default?: string }).default]));
    expect(config).toMatchObject({
      authMode: byName.AUTH_MODE,
      mappingTtlSeconds: Number(byName.MAPPING_TTL_SECONDS),
      inboxTtlSeconds: Number(byName.INBOX_TTL_SECONDS),
      connectionTtlSeconds: Number(byName.CONNECTION_TTL_SECONDS),
      dedupeTtlSeconds: Number(byName.DEDUPE_TTL_SECONDS),
      redeliveryDelaySeconds: Number(byName.REDELIVERY_DELAY_SECONDS),
      tenantIsolation: byName.TENANT_ISOLATION === 'on',
      region: byName.AWS_REGION,
    });
  });

  it('the region: AWS_REGION, else AWS_DEFAULT_REGION, else the default (blank counts as unset)', () => {
    const region = (env: Record<string, string>) => loadConfig({ TABLE_NAME: 't', ...env }).region;
    expect(region({ AWS_REGION: 'eu-west-1', AWS_DEFAULT_REGION: 'ap-south-1' })).toBe('eu-west-1');
    expect(region({ AWS_DEFAULT_REGION: 'ap-south-1' })).toBe('ap-south-1');
    expect(region({ AWS_REGION: '', AWS_DEFAULT_REGION: ' ap-south-1 ' })).toBe('ap-south-1');
    expect(region({ AWS_REGION: ' ' })).toBe('us-east-1');
    expect(region({})).toBe('us-east-1');
  });

  it('the README table is the generated one', () => {
    const readme = readFileSync(path.join(import.meta.dirname, '..', 'README.md'), 'utf8');
    const block = /<!-- settings:start[^>]*-->\n([\s\S]*?)\n<!-- settings:end -->/.exec(readme)?.[1];
    expect(block, 'regenerate: pnpm --filter @mpc-relay/handlers readme:settings').toBe(settingsTable());
  });
});
