import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { HANDLER_NAMES } from '@mpc-relay/handlers/routes';
import type * as pulumi from '@pulumi/pulumi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBundles, BUNDLE_DIR_ENV, bundleDirectory } from '../src/bundles.js';
import { installMocks, type MockResource, readStackConfig, resolve, settle } from './harness.js';

describe('bundles', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'mpc-relay-bundles-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('defaults to the handlers package dist folder, or the override', () => {
    expect(bundleDirectory({})).toMatch(/packages[\\/]handlers[\\/]dist$/);
    expect(bundleDirectory({ [BUNDLE_DIR_ENV]: dir })).toBe(dir);
  });

  it('names every missing bundle and the build command', () => {
    mkdirSync(path.join(dir, 'connect'), { recursive: true });
    writeFileSync(path.join(dir, 'connect', 'index.mjs'), 'export const handler = () => {};\n');
    expect(() => assertBundles(dir)).toThrow(
      /authorizer\/index\.mjs.*broadcast\/index\.mjs.*pnpm turbo run build/,
    );
    expect(() => assertBundles(dir)).not.toThrow(/(: |, )connect\/index\.mjs/);
  });
});

describe('the Pulumi program (src/program.ts) on the dev stack', () => {
  let dir: string;
  let resources: MockResource[];
  // biome-ignore lint/suspicious/noExplicitAny: the program module's exports are outputs of several types
  let program: Record<string, pulumi.Output<any> | undefined>;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'mpc-relay-bundles-'));
    for (const handler of HANDLER_NAMES) {
      mkdirSync(path.join(dir, handler));
      writeFileSync(
        path.join(dir, handler, 'index.mjs'),
        'export const handler = async () => ({ statusCode: 200 });\n',
      );
    }
    process.env[BUNDLE_DIR_ENV] = dir;
    ({ resources } = await installMocks(readStackConfig('dev'), { stack: 'dev' }));
    program = await import('../src/program.js');
    await resolve(program.url!);
    await settle();
  });
  afterAll(() => {
    delete process.env[BUNDLE_DIR_ENV];
    rmSync(dir, { recursive: true, force: true });
  });

  it('exports the documented stack outputs', async () => {
    const api = resources.find((r) => r.type === 'aws:apigatewayv2/api:Api')!;
    expect(await resolve(program.url!)).toBe(`${api.state.apiEndpoint}/dev`);
    expect(await resolve(program.managementEndpoint!)).toBe(
      `https://${api.id}.execute-api.ap-southeast-1.amazonaws.com/dev`,
    );
    expect(await resolve(program.stageName!)).toBe('dev');
    const table = resources.find((r) => r.type === 'aws:dynamodb/table:Table')!;
    expect(await resolve(program.tableName!)).toBe(table.state.name);
    const names = (await resolve(program.functionNames!)) as Record<string, string>;
    expect(Object.keys(names).sort()).toEqual([...HANDLER_NAMES].sort());
    expect(await resolve(program.broadcastFunctionName!)).toBe(names.broadcast);
    expect(names.broadcast).toBe('mpc-relay-dev-broadcast');
    expect(program.alarmTopicArn).toBeUndefined();
    expect(program.customDomainUrl).toBeUndefined();
    expect(program.jwtSecretParameterName).toBeUndefined();
  });

  it('ships each handler folder of the bundle directory', async () => {
    const fn = resources.find((r) => r.name === 'mpc-relay-dev-sendServer')!;
    expect(fn.type).toBe('aws:lambda/function:Function');
    const component = resources.find((r) => r.type === 'mpc-relay:index:Relay');
    expect(component?.name).toBe('mpc-relay-dev');
    const { RelayComponent } = await import('../src/relay.js');
    expect(RelayComponent).toBeDefined();
  });
});
