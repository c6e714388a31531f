/**
 * What SigV4 verification costs per relayed message, measured on the relay's own code:
 * - verify(): the local-gateway verifier (`@smithy/signature-v4` canonical form, cached signing key,
 *   constant-time compare) on requests shaped like the hot path's: one PostToConnection
 *   (execute-api) and two DynamoDB requests (a Query and a GetItem), signed by the SDK's signer.
 * - the store hop: the relay's store as it runs (dynalite in its own process on a Unix socket, the
 *   verifying front on loopback TCP in the relay's process): a GetItem through the front against
 *   the same request straight to the store process's socket, and the front's CPU per request.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nowMs, round, summarize } from './stats.mjs';

const root = new URL('../../', import.meta.url);
const gatewayModule = new URL('packages/local-gateway/dist/index.js', root);
const storeModule = new URL('apps/relay/dist/store.js', root);
const gatewayRequire = createRequire(new URL('packages/local-gateway/package.json', root));

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
    `sigv4: ${frontRequests} GetItem requests to the store process, through the verifying front and straight to its socket, alternating blocks`,
  );
  // As the relay runs it (apps/relay startStore): dynalite in its own process on a Unix socket in
  // the data folder, the verifying front in this process on loopback TCP.
  const { startStore } = await import(storeModule.href);
  const dataDir = mkdtempSync(join(tmpdir(), 'mpc-relay-bench-store-'));
  const store = await startStore(join(dataDir, 'store'), 'mpc-relay', region, { credentials, log: () => {} });
  const socketPath = join(store.dataDir, 'dynamodb.sock');
  const frontUrl = new URL(store.endpoint);
  const viaFront = { hostname: frontUrl.hostname, port: Number(frontUrl.port) };
  // Straight to the store process: what a check inside that process would leave (one hop).
  const viaSocket = { socketPath };
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const direct = new Agent({ keepAlive: true, maxSockets: 1 });
  const get = await dynamoRequest(
    'GetItem',
    JSON.stringify({
      TableName: 'mpc-relay',
      Key: { pk: { S: 'MAP#cli123' }, sk: { S: 'LATEST' } },
      ConsistentRead: true,
    }),
  );
  let frontHop;
  let directHop;
  let frontCpuMsPerRequest;
  try {
    if (!existsSync(socketPath)) throw new Error(`the store's socket is not at ${socketPath}`);
    for (let i = 0; i < 50; i++) {
      const status = await sendRaw(viaFront, agent, get);
      if (status !== 200) throw new Error(`the front answered ${status} to the bench's GetItem`);
      await sendRaw(viaSocket, direct, get);
    }
    // Blocks, not single requests, so this process's CPU time per block tells what the front
    // costs the relay process per request (the client side is the same in both).
    const block = 50;
    const times = { front: [], direct: [] };
    const cpu = { front: 0, direct: 0 };
    for (let done = 0; done < frontRequests; done += block) {
      for (const [name, target, a] of [
        ['front', viaFront, agent],
        ['direct', viaSocket, direct],
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
    frontHop = summarize(times.front);
    directHop = summarize(times.direct);
    frontCpuMsPerRequest = round((cpu.front - cpu.direct) / 1000 / times.front.length, 3);
  } finally {
    agent.destroy();
    direct.destroy();
    await store.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
  const verify = summarize(perMessage);
  const frontOverheadMs = round(frontHop.median - directHop.median);
  return {
    method: `verify(): the relay verifier on the 3 signed requests of one relayed message (1 PostToConnection, 2 DynamoDB), signed by @smithy/signature-v4, warm signing key. Store hop: a consistent GetItem to the relay's store as \`startStore\` runs it (dynalite in its own process on a Unix socket, the verifying front in the calling process on loopback TCP), through the front vs straight to the store process's socket (what checking inside the store process would leave), ${frontRequests} each, sequential, in alternating blocks of 50, keep-alive both; the front's CPU is the calling process's CPU time in front blocks minus direct blocks.`,
    firstVerifyMs: round(firstMs),
    verifyPerMessageMs: verify,
    dynamoFront: {
      viaFrontMs: frontHop,
      directMs: directHop,
      overheadMedianMs: frontOverheadMs,
      frontCpuMsPerRequest,
    },
    perMessageMedianMs: round(verify.median + 2 * frontOverheadMs),
  };
}
