/**
 * What SigV4 verification costs per relayed message, measured on the relay's own code:
 * - verify(): the local-gateway verifier (`@smithy/signature-v4` canonical form, cached signing key,
 *   constant-time compare) on requests shaped like the hot path's: one PostToConnection
 *   (execute-api) and two DynamoDB requests (a Query and a GetItem), signed by the SDK's signer.
 * - the DynamoDB front: one request to dynalite through the verifying front (TCP, verify, handed to
 *   dynalite's listener in process, as the relay runs it) against the same request sent to
 *   dynalite listening on loopback TCP, as the relay ran it before (unchecked).
 */
import { Agent, request } from 'node:http';
import { createRequire } from 'node:module';
import { nowMs, round, summarize } from './stats.mjs';

const root = new URL('../../', import.meta.url);
const gatewayModule = new URL('packages/local-gateway/dist/index.js', root);
const sigv4Module = new URL('packages/local-gateway/dist/sigv4.js', root);
const frontModule = new URL('apps/relay/dist/dynamo-front.js', root);
const relayRequire = createRequire(new URL('apps/relay/package.json', root));
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

/** Alternating samples of `a` and `b` (so drift in machine load hits both alike). */
async function alternate(count, a, b) {
  const as = [];
  const bs = [];
  for (let i = 0; i < count; i++) {
    let t = nowMs();
    await a();
    as.push(nowMs() - t);
    t = nowMs();
    await b();
    bs.push(nowMs() - t);
  }
  return [summarize(as), summarize(bs)];
}

export async function measureSigV4({ iterations = 5000, frontRequests = 1500, log = () => {} } = {}) {
  const { createSigV4Verifier, generateCredentials } = await import(gatewayModule.href);
  const { Sha256 } = await import(sigv4Module.href);
  const { startDynamoFront } = await import(frontModule.href);
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

  log(`sigv4: ${frontRequests} DynamoDB requests through the front and straight to dynalite, alternating`);
  const dynalite = relayRequire('dynalite');
  // Direct: dynalite on loopback TCP, as the relay ran it before the front (every caller unchecked).
  const server = dynalite({ createTableMs: 0 });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  // As the relay runs it: dynalite in process, the front hands it each verified request.
  const front = await startDynamoFront({
    target: { server },
    verifier: createSigV4Verifier({ service: 'dynamodb', region, credentials }),
  });
  const frontUrl = new URL(front.endpoint);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const direct = new Agent({ keepAlive: true, maxSockets: 1 });
  const listTables = await dynamoRequest('ListTables', '{}');
  const viaFront = { hostname: frontUrl.hostname, port: Number(frontUrl.port) };
  const viaSocket = { hostname: '127.0.0.1', port: server.address().port };
  let frontHop;
  let directHop;
  try {
    for (let i = 0; i < 50; i++) {
      if ((await sendRaw(viaFront, agent, listTables)) !== 200)
        throw new Error('the front refused the bench');
      await sendRaw(viaSocket, direct, listTables);
    }
    [frontHop, directHop] = await alternate(
      frontRequests,
      () => sendRaw(viaFront, agent, listTables),
      () => sendRaw(viaSocket, direct, listTables),
    );
  } finally {
    agent.destroy();
    direct.destroy();
    await front.close();
    await new Promise((resolve) => server.close(resolve));
  }
  const verify = summarize(perMessage);
  const frontOverheadMs = round(frontHop.median - directHop.median);
  return {
    method:
      'verify(): the relay verifier on the 3 signed requests of one relayed message (1 PostToConnection, 2 DynamoDB), signed by @smithy/signature-v4, warm signing key; front: ListTables to dynalite through the verifying front (TCP, verify, handed to dynalite in process) vs straight to dynalite on loopback TCP (the relay before the front: no check), alternating, keep-alive both.',
    firstVerifyMs: round(firstMs),
    verifyPerMessageMs: verify,
    dynamoFront: { viaFrontMs: frontHop, directMs: directHop, overheadMedianMs: frontOverheadMs },
    perMessageMedianMs: round(verify.median + 2 * frontOverheadMs),
  };
}
