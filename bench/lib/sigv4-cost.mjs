/**
 * What SigV4 verification costs per relayed message, measured on the relay's own code:
 * - verify(): the local-gateway verifier (`@smithy/signature-v4` canonical form, cached signing key,
 *   constant-time compare) on requests shaped like the hot path's: one PostToConnection
 *   (execute-api) and two DynamoDB requests (a Query and a GetItem), signed by the SDK's signer.
 * - the store hop: the relay's store as it runs (dynalite in its own process, which verifies each
 *   request on the connections the relay hands it from its loopback port): a GetItem to it against
 *   the same request to a bare dynalite (LevelDB too) in its own process on loopback TCP, which checks nothing,
 *   and the store's CPU per request in the calling process (the relay's, as startStore runs there).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nowMs, round, sleep, summarize } from './stats.mjs';

const root = new URL('../../', import.meta.url);
const gatewayModule = new URL('packages/local-gateway/dist/index.js', root);
const storeModule = new URL('apps/relay/dist/store.js', root);
const gatewayRequire = createRequire(new URL('packages/local-gateway/package.json', root));
const relayRequire = createRequire(new URL('apps/relay/package.json', root));

/**
 * dynalite alone (the same patched module the store runs), on LevelDB in `dir` as the store is, in
 * a child process on loopback TCP.
 */
async function startBareDynalite(dir) {
  const code = `const d = require(${JSON.stringify(relayRequire.resolve('dynalite'))})({ path: ${JSON.stringify(dir)}, createTableMs: 0 });
d.listen(0, '127.0.0.1', () => process.stdout.write(d.address().port + '\\n'));
process.stdin.on('end', () => process.exit(0)); process.stdin.resume();`;
  const child = spawn(process.execPath, ['-e', code], { stdio: ['pipe', 'pipe', 'inherit'] });
  const port = await new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (c) => reject(new Error(`bare dynalite exited (${c})`)));
    child.stdout.once('data', (data) => resolve(Number(String(data).trim())));
  });
  return { target: { hostname: '127.0.0.1', port }, stop: () => child.stdin.end() };
}

function sendRaw(target, agent, signed) {
  return new Promise((resolve, reject) => {
    const req = request(
      { ...target, agent, method: signed.method, path: signed.path, headers: signed.headers },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(signed.body);
  });
}

export async function measureSigV4({ iterations = 5000, frontRequests = 1500, log = () => {} } = {}) {
  const { createSigV4Verifier, generateCredentials } = await import(gatewayModule.href);
  const { Sha256 } = gatewayRequire('@smithy/core/checksum');
  const { SignatureV4 } = gatewayRequire('@smithy/signature-v4');
  const credentials = generateCredentials();
  const region = 'us-east-1';
  const signer = (service) => new SignatureV4({ service, region, credentials, sha256: Sha256 });
  const sdkHeaders = {
    'amz-sdk-invocation-id': '9c4b1d3e-7a8f-4e21-b0c5-2d6f8a9e1b37',
    'amz-sdk-request': 'attempt=1; max=3',
    'user-agent': 'aws-sdk-js/3.1162.0 ua/2.1 os/linux lang/js md/nodejs#20.20.2',
  };

  // The hot path's three signed requests, as the handlers' SDK clients send them.
  const frame = JSON.stringify({
    operationType: 'PartialSig',
    from: 'IgniterC56D',
    message: { accountHash: 'a'.repeat(64), teamId: 't', transactionId: 'tx-1', partialSig: 'p'.repeat(128) },
  });
  const post = await signer('execute-api').sign({
    method: 'POST',
    protocol: 'http:',
    hostname: '127.0.0.1',
    port: 3001,
    path: '/production/%40connections/BlztBIsgl2INiaU%3D',
    query: {},
    headers: {
      host: '127.0.0.1:3001',
      'content-type': 'application/octet-stream',
      'content-length': String(Buffer.byteLength(frame)),
      ...sdkHeaders,
    },
    body: frame,
  });
  const dynamoRequest = (target, body) =>
    signer('dynamodb').sign({
      method: 'POST',
      protocol: 'http:',
      hostname: '127.0.0.1',
      port: 8000,
      path: '/',
      query: {},
      headers: {
        host: '127.0.0.1:8000',
        'content-type': 'application/x-amz-json-1.0',
        'content-length': String(Buffer.byteLength(body)),
        'x-amz-target': `DynamoDB_20120810.${target}`,
        ...sdkHeaders,
      },
      body,
    });
  const query = await dynamoRequest(
    'Query',
    JSON.stringify({
      TableName: 'mpc-relay',
      KeyConditionExpression: '#pk = :pk',
      ExpressionAttributeNames: { '#pk': 'pk' },
      ExpressionAttributeValues: { ':pk': { S: 'PEER#cli#cli123' } },
      ConsistentRead: true,
    }),
  );
  const getItem = await dynamoRequest(
    'GetItem',
    JSON.stringify({ TableName: 'mpc-relay', Key: { pk: { S: 'MAP#cli123' }, sk: { S: 'LATEST' } } }),
  );
  const received = (signed) => ({
    method: signed.method,
    url: signed.path,
    headers: Object.fromEntries(Object.entries(signed.headers).map(([k, v]) => [k.toLowerCase(), v])),
    body: Buffer.from(signed.body),
  });
  const management = createSigV4Verifier({ service: 'execute-api', region, credentials });
  const dynamo = createSigV4Verifier({ service: 'dynamodb', region, credentials });
  const requests = [
    [management, received(post)],
    [dynamo, received(query)],
    [dynamo, received(getItem)],
  ];
  let t = nowMs();
  const first = await management.verify(requests[0][1]);
  const firstMs = nowMs() - t;
  if (!first.ok) throw new Error(`the bench's own request did not verify: ${first.message}`);

  log(`sigv4: ${iterations} x verify() of the hot path's 3 requests`);
  const perMessage = [];
  for (let i = 0; i < iterations; i++) {
    t = nowMs();
    for (const [verifier, req] of requests) await verifier.verify(req);
    perMessage.push(nowMs() - t);
  }

  log(
    `sigv4: ${frontRequests} GetItem requests to the relay's store (verified in the store process) and to a bare dynalite, alternating blocks`,
  );
  const { startStore } = await import(storeModule.href);
  const dataDir = mkdtempSync(join(tmpdir(), 'mpc-relay-bench-store-'));
  const store = await startStore(join(dataDir, 'store'), 'mpc-relay', region, { credentials, log: () => {} });
  const storeUrl = new URL(store.endpoint);
  const viaStore = { hostname: storeUrl.hostname, port: Number(storeUrl.port) };
  const bare = await startBareDynalite(join(dataDir, 'bare'));
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const direct = new Agent({ keepAlive: true, maxSockets: 1 });
  const table = JSON.stringify({
    TableName: 'mpc-relay',
    AttributeDefinitions: [
      { AttributeName: 'pk', AttributeType: 'S' },
      { AttributeName: 'sk', AttributeType: 'S' },
    ],
    KeySchema: [
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ],
    BillingMode: 'PAY_PER_REQUEST',
  });
  const get = await dynamoRequest(
    'GetItem',
    JSON.stringify({
      TableName: 'mpc-relay',
      Key: { pk: { S: 'MAP#cli123' }, sk: { S: 'LATEST' } },
      ConsistentRead: true,
    }),
  );
  let storeHop;
  let bareHop;
  let relayCpuMsPerRequest;
  try {
    await sendRaw(bare.target, direct, await dynamoRequest('CreateTable', table));
    for (let i = 0; i < 100 && (await sendRaw(bare.target, direct, get)) !== 200; i++) await sleep(20);
    for (let i = 0; i < 50; i++) {
      const status = await sendRaw(viaStore, agent, get);
      if (status !== 200) throw new Error(`the store answered ${status} to the bench's GetItem`);
      const bareStatus = await sendRaw(bare.target, direct, get);
      if (bareStatus !== 200)
        throw new Error(`the bare dynalite answered ${bareStatus} to the bench's GetItem`);
    }
    // Blocks, not single requests, so this process's CPU time per block tells what the store
    // costs the process that started it per request (the client side is the same in both).
    const block = 50;
    const times = { store: [], bare: [] };
    const cpu = { store: 0, bare: 0 };
    for (let done = 0; done < frontRequests; done += block) {
      for (const [name, target, a] of [
        ['store', viaStore, agent],
        ['bare', bare.target, direct],
      ]) {
        const c0 = process.cpuUsage();
        for (let i = 0; i < block; i++) {
          const t0 = nowMs();
          await sendRaw(target, a, get);
          times[name].push(nowMs() - t0);
        }
        const c1 = process.cpuUsage(c0);
        cpu[name] += c1.user + c1.system;
      }
    }
    storeHop = summarize(times.store);
    bareHop = summarize(times.bare);
    relayCpuMsPerRequest = round((cpu.store - cpu.bare) / 1000 / times.store.length, 3);
  } finally {
    agent.destroy();
    direct.destroy();
    bare.stop();
    await store.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
  const verify = summarize(perMessage);
  const overheadMs = round(storeHop.median - bareHop.median);
  return {
    method: `verify(): the relay verifier on the 3 signed requests of one relayed message (1 PostToConnection, 2 DynamoDB), signed by @smithy/signature-v4, warm signing key. Store hop: a consistent GetItem to the relay's store as \`startStore\` runs it (dynalite in its own process, verifying every request on the connections handed to it from the relay's loopback port) vs the same request to a bare dynalite (LevelDB on disk too, its own process, loopback TCP, no check), ${frontRequests} each, sequential, in alternating blocks of 50, keep-alive both; the relay process's CPU is the calling process's CPU time in store blocks minus bare blocks.`,
    firstVerifyMs: round(firstMs),
    verifyPerMessageMs: verify,
    storeHop: {
      verifiedMs: storeHop,
      bareMs: bareHop,
      overheadMedianMs: overheadMs,
      relayCpuMsPerRequest,
    },
    perMessageMedianMs: round(verify.median + 2 * overheadMs),
  };
}
