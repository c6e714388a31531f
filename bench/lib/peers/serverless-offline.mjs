/**
 * serverless-offline, the usual way to run an API Gateway WebSocket API + Lambda locally, as the
 * peer the relay is measured against: serverless-offline 13 with serverless 3 (neither needs a
 * login), installed from the npm registry on first use into bench/.peers/serverless-offline
 * (ignored by git, a dependency of no package). It runs the same handler bundles, with the same
 * environment and the same dynalite store as the relay; only the emulator differs.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const peerDir = join(here, '..', '..', '.peers', 'serverless-offline');

export const PEER_PACKAGES = { serverless: '3', 'serverless-offline': '13' };

/** Environment for serverless 3: no telemetry, no notifications, no login prompt. */
export const SLS_ENV = {
  SLS_TELEMETRY_DISABLED: '1',
  SLS_NOTIFICATIONS_MODE: 'off',
  SLS_DEPRECATION_DISABLE: '*',
  SLS_INTERACTIVE_SETUP_DISABLE: '1',
};

function installedVersion(name) {
  const file = join(peerDir, 'node_modules', name, 'package.json');
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, 'utf8')).version;
}

export function peerInstalled() {
  return Object.entries(PEER_PACKAGES).every(
    ([name, major]) => installedVersion(name)?.split('.')[0] === major,
  );
}

/** The installed versions, installing them first if needed; throws with npm's message if it cannot. */
export async function ensurePeerInstalled(log = () => {}) {
  const wanted = Object.entries(PEER_PACKAGES);
  if (!peerInstalled()) {
    mkdirSync(peerDir, { recursive: true });
    writeFileSync(
      join(peerDir, 'package.json'),
      `${JSON.stringify({ name: 'mpc-relay-bench-peer', private: true, description: 'installed by bench/run.mjs' }, null, 2)}\n`,
    );
    log(`peers: installing ${wanted.map(([n, v]) => `${n}@${v}`).join(' ')} into bench/.peers (first use)`);
    await new Promise((resolve, reject) => {
      execFile(
        'npm',
        [
          'install',
          '--no-audit',
          '--no-fund',
          '--ignore-scripts',
          '--loglevel=error',
          ...wanted.map(([n, v]) => `${n}@${v}`),
        ],
        { cwd: peerDir, timeout: 600_000, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, ...SLS_ENV } },
        (error, _stdout, stderr) =>
          error
            ? reject(
                new Error(
                  `npm install failed: ${String(stderr || error.message)
                    .trim()
                    .slice(-800)}`,
                ),
              )
            : resolve(),
      );
    });
    if (!peerInstalled()) throw new Error('npm install finished but the packages are not where expected');
  }
  return Object.fromEntries(wanted.map(([name]) => [name, installedVersion(name)]));
}

/**
 * serverless.yml for the route table: every route's function is the bundle of its handler, the
 * REQUEST authorizer on $connect with the static mode's identity source.
 */
export function serverlessYaml({ routes, authorizer, env }) {
  const lines = [
    'service: mpc-relay-bench-peer',
    'frameworkVersion: "3"',
    'plugins:',
    '  - serverless-offline',
    'provider:',
    '  name: aws',
    '  runtime: nodejs20.x',
    '  region: us-east-1',
    '  stage: production',
    '  websocketsApiRouteSelectionExpression: $request.body.action',
    // The local gateway's handler timeout (API Gateway's 29 s integration limit), not serverless's
    // default of 6 s: on a loaded machine a cold start alone can take longer, and serverless-offline
    // ends a timed-out invocation with an error frame and terminates that worker thread.
    '  timeout: 29',
    '  environment:',
    ...Object.entries(env).map(([k, v]) => `    ${k}: ${JSON.stringify(v)}`),
    'functions:',
  ];
  const handlers = new Set();
  if (authorizer) {
    handlers.add(authorizer.handler);
    lines.push(`  ${authorizer.handler}:`, `    handler: bundles/${authorizer.handler}/index.handler`);
  }
  for (const route of routes) {
    const fn = `${route.handler}Route${route.routeKey.replace(/[^A-Za-z0-9]/g, '')}`;
    lines.push(
      `  ${fn}:`,
      `    handler: bundles/${route.handler}/index.handler`,
      '    events:',
      '      - websocket:',
      `          route: ${JSON.stringify(route.routeKey)}`,
    );
    if (route.twoWay) lines.push('          routeResponseSelectionExpression: $default');
    if (route.routeKey === '$connect' && authorizer) {
      lines.push(
        '          authorizer:',
        `            name: ${authorizer.handler}`,
        '            identitySource:',
        ...authorizer.identitySources.map((s) => `              - ${s}`),
      );
    }
    handlers.add(route.handler);
  }
  return { yaml: `${lines.join('\n')}\n`, handlers: [...handlers] };
}
