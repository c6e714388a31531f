/**
 * The relay authenticates like AWS: its management API (execute-api), Lambda Invoke API (lambda)
 * and embedded DynamoDB (dynamodb) serve only requests signed (SigV4) with the data folder's key.
 * The real SDK clients work with that key; with none, a wrong secret, an unknown key, a signature
 * 16 minutes old (the relay's clock moved) or a body changed after signing, each gets the exact
 * AWS error and nothing is delivered or written: a later, valid request's effect arrives first.
 */
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
  GetConnectionCommand,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { DynamoDBClient, GetItemCommand, PutItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { Sha256 } from '@smithy/core/checksum';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSharedCredentials } from '../src/credentials.js';
import { type Relay, startRelay } from '../src/index.js';
import { Peer, tempDir, waitFor } from './helpers.js';

const MINUTE = 60_000;
let relay: Relay;
let dataDir: string;
/** How far the relay's signature clock runs ahead of real time. */
let skewMs = 0;
const dirs: string[] = [];
const lines: string[] = [];

beforeAll(async () => {
  dataDir = join(tempDir('relay-sigv4-'), 'data');
  dirs.push(dataDir);
  relay = await startRelay({ port: 0, dataDir, clock: () => Date.now() + skewMs, log: (l) => lines.push(l) });
});
afterAll(async () => {
  await relay?.close();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

type Attack = 'none' | 'wrong secret' | 'unknown key' | '16 minutes old' | 'tampered body';

interface SdkClient {
  middlewareStack: { add: (...args: never[]) => void };
}

/** Changes the request after the SDK signed it (the `deserialize` step runs after signing). */
function afterSigning<C extends SdkClient>(client: C, change: (request: SignedHttp) => void): C {
  const add = client.middlewareStack.add as unknown as (
    middleware: (
      next: (args: { request: SignedHttp }) => Promise<unknown>,
    ) => (args: { request: SignedHttp }) => Promise<unknown>,
    options: { step: string; name: string; priority: string },
  ) => void;
  add(
    (next) => async (args) => {
      change(args.request);
      return next(args);
    },
    { step: 'deserialize', name: 'changeAfterSigning', priority: 'high' },
  );
  return client;
}
interface SignedHttp {
  headers: Record<string, string>;
  body?: unknown;
}

function stripSignature(request: SignedHttp): void {
  for (const name of Object.keys(request.headers)) {
    if (/^(authorization|x-amz-date|x-amz-content-sha256|x-amz-security-token)$/i.test(name))
      delete request.headers[name];
  }
}

/** Same length, other bytes: only the body's hash tells them apart. */
function swapBody(from: string, to: string) {
  return (request: SignedHttp) => {
    const binary = typeof request.body !== 'string';
    const text = binary ? Buffer.from(request.body as Uint8Array).toString('utf8') : (request.body as string);
    expect(text).toContain(from);
    const changed = text.replace(from, to);
    request.body = binary ? new TextEncoder().encode(changed) : changed;
  };
}

function clientConfig(attack: Attack | 'valid') {
  const { accessKeyId, secretAccessKey } = relay.credentials;
  return {
    region: relay.region,
    maxAttempts: 1,
    credentials:
      attack === 'wrong secret'
        ? { accessKeyId, secretAccessKey: `${secretAccessKey}x` }
        : attack === 'unknown key'
          ? { accessKeyId: 'AKIAUNKNOWNUNKNOWN00', secretAccessKey }
          : { accessKeyId, secretAccessKey },
  };
}

const EXPECTED: Record<Attack, { name: string; message: RegExp }> = {
  none: { name: 'MissingAuthenticationTokenException', message: /^Missing Authentication Token$/ },
  'wrong secret': {
    name: 'InvalidSignatureException',
    message: /^The request signature we calculated does not match the signature you provided\./,
  },
  'unknown key': {
    name: 'UnrecognizedClientException',
    message: /^The security token included in the request is invalid\.$/,
  },
  '16 minutes old': {
    name: 'InvalidSignatureException',
    message: /^Signature expired: \d{8}T\d{6}Z is now earlier than /,
  },
  'tampered body': {
    name: 'InvalidSignatureException',
    message: /^The request signature we calculated does not match the signature you provided\./,
  },
};
const ATTACKS = Object.keys(EXPECTED) as Attack[];

async function refused(attack: Attack, send: () => Promise<unknown>) {
  skewMs = attack === '16 minutes old' ? 16 * MINUTE : 0;
  try {
    const error = (await send().then(
      () => undefined,
      (e: unknown) => e,
    )) as { name: string; message: string; $metadata: { httpStatusCode?: number } } | undefined;
    expect(error, attack).toBeDefined();
    return error!;
  } finally {
    skewMs = 0;
  }
}

describe('the data folder', () => {
  it('is 0700 with a 0600 credentials file (profile mpc-relay-local) and 0600 LevelDB files', () => {
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);
    const file = join(dataDir, 'credentials');
    expect(relay.credentialsFile).toBe(file);
    expect(relay.credentialsSource).toBe(file);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const profile = parseSharedCredentials(readFileSync(file, 'utf8')).get('mpc-relay-local');
    expect(profile?.get('aws_access_key_id')).toBe(relay.credentials.accessKeyId);
    expect(profile?.get('aws_secret_access_key')).toBe(relay.credentials.secretAccessKey);
    const level = join(dataDir, 'dynamodb');
    expect(statSync(level).mode & 0o777).toBe(0o700);
    const files = readdirSync(level);
    expect(files.length).toBeGreaterThan(0);
    for (const name of files) expect([name, statSync(join(level, name)).mode & 0o077]).toEqual([name, 0]);
    expect(statSync(join(dataDir, 'relay.lock')).mode & 0o077).toBe(0);
  });
});

describe('management API (@connections, execute-api)', () => {
  const management = (attack: Attack | 'valid') => {
    const client = new ApiGatewayManagementApiClient({
      endpoint: relay.managementEndpoint.replace(/\/@connections$/, ''),
      ...clientConfig(attack),
    });
    if (attack === 'none') afterSigning(client, stripSignature);
    if (attack === 'tampered body') afterSigning(client, swapBody('genuine', 'forged!'));
    return client;
  };

  it('the SDK with the relay key: PostToConnection, GetConnection, DeleteConnection', async () => {
    const cli = await Peer.open(relay.url, 'type=cli&cliId=cli-ok');
    const id = await connectionIdOf(cli);
    const sdk = management('valid');
    await sdk.send(new PostToConnectionCommand({ ConnectionId: id, Data: 'hello' }));
    expect(await cli.next()).toBe('hello');
    const details = await sdk.send(new GetConnectionCommand({ ConnectionId: id }));
    expect(details.Identity?.SourceIp).toBe('127.0.0.1');
    await sdk.send(new DeleteConnectionCommand({ ConnectionId: id }));
    await waitFor(() => cli.closed === 1000, 'DeleteConnection to close the connection');
    sdk.destroy();
  });

  it('refuses each attack with the AWS error; nothing is delivered, read or closed', async () => {
    const cli = await Peer.open(relay.url, 'type=cli&cliId=cli-target');
    const id = await connectionIdOf(cli);
    for (const attack of ATTACKS) {
      const sdk = management(attack);
      for (const command of [
        new PostToConnectionCommand({ ConnectionId: id, Data: `genuine ${attack}` }),
        ...(attack === 'tampered body'
          ? []
          : [
              new GetConnectionCommand({ ConnectionId: id }),
              new DeleteConnectionCommand({ ConnectionId: id }),
            ]),
      ]) {
        const error = await refused(attack, () => sdk.send(command as never));
        expect([attack, error.name, error.$metadata.httpStatusCode]).toEqual([
          attack,
          EXPECTED[attack].name,
          403,
        ]);
        expect(error.message).toMatch(EXPECTED[attack].message);
      }
      sdk.destroy();
    }
    // Still open, and the first frame it gets is the valid post that followed every refusal.
    const sdk = management('valid');
    await sdk.send(new PostToConnectionCommand({ ConnectionId: id, Data: 'after the attacks' }));
    expect(await cli.next()).toBe('after the attacks');
    expect(cli.messages).toEqual([]);
    sdk.destroy();
    cli.close();
  });

  it('a presigned URL works (GetConnection by plain fetch) until it expires', async () => {
    const cli = await Peer.open(relay.url, 'type=cli&cliId=cli-presign');
    const id = await connectionIdOf(cli);
    const url = new URL(`${relay.managementEndpoint}/${encodeURIComponent(id)}`);
    const signer = new SignatureV4({
      service: 'execute-api',
      region: relay.region,
      credentials: relay.credentials,
      sha256: Sha256,
    });
    const presigned = await signer.presign(
      {
        method: 'GET',
        protocol: 'http:',
        hostname: url.hostname,
        port: Number(url.port),
        path: url.pathname,
        query: {},
        headers: { host: url.host },
      },
      { expiresIn: 60 },
    );
    const query = new URLSearchParams(presigned.query as Record<string, string>).toString();
    const ok = await fetch(`${url.origin}${url.pathname}?${query}`);
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { identity: { sourceIp: string } }).identity.sourceIp).toBe('127.0.0.1');
    skewMs = 2 * MINUTE;
    const late = await fetch(`${url.origin}${url.pathname}?${query}`).finally(() => {
      skewMs = 0;
    });
    expect(late.status).toBe(403);
    expect(late.headers.get('x-amzn-errortype')).toBe('InvalidSignatureException');
    expect(((await late.json()) as { message: string }).message).toMatch(/^Signature expired: /);
    const unsigned = await fetch(url);
    expect([unsigned.status, unsigned.headers.get('x-amzn-errortype')]).toEqual([
      403,
      'MissingAuthenticationTokenException',
    ]);
    expect(await unsigned.json()).toEqual({ message: 'Missing Authentication Token' });
    cli.close();
  });
});

describe('Lambda Invoke API (lambda)', () => {
  const lambda = (attack: Attack | 'valid') => {
    const client = new LambdaClient({ endpoint: relay.lambdaEndpoint, ...clientConfig(attack) });
    if (attack === 'none') afterSigning(client, stripSignature);
    if (attack === 'tampered body') afterSigning(client, swapBody('genuine', 'forged!'));
    return client;
  };
  const payload = (message: string) => new TextEncoder().encode(JSON.stringify({ message }));

  it('refuses each attack with the AWS error and runs nothing; the valid invocation is the first broadcast', async () => {
    const mpc = await Peer.open(relay.url, 'type=mpc&mpcId=mpc-listener');
    await connectionIdOf(mpc);
    for (const attack of ATTACKS) {
      const client = lambda(attack);
      const error = await refused(attack, () =>
        client.send(new InvokeCommand({ FunctionName: 'broadcast', Payload: payload(`genuine ${attack}`) })),
      );
      expect([attack, error.name, error.$metadata.httpStatusCode]).toEqual([
        attack,
        EXPECTED[attack].name,
        403,
      ]);
      expect(error.message).toMatch(EXPECTED[attack].message);
      client.destroy();
    }
    const client = lambda('valid');
    const answer = await client.send(
      new InvokeCommand({ FunctionName: 'broadcast', Payload: payload('valid') }),
    );
    expect(JSON.parse(Buffer.from(answer.Payload ?? []).toString())).toMatchObject({ failed: 0 });
    expect(JSON.parse(await mpc.next())).toEqual({
      operationType: 'broadcast',
      from: 'relay',
      message: 'valid',
    });
    expect(mpc.messages).toEqual([]);
    client.destroy();
    mpc.close();
  });

  it("broadcast refuses an apigw_endpoint that is not the relay's: nothing is sent", async () => {
    const cli = await Peer.open(relay.url, 'type=cli&cliId=cli-broadcast');
    await connectionIdOf(cli);
    const client = lambda('valid');
    const invoke = async (event: Record<string, unknown>) =>
      JSON.parse(
        Buffer.from(
          (
            await client.send(
              new InvokeCommand({ FunctionName: 'broadcast', Payload: JSON.stringify(event) }),
            )
          ).Payload ?? [],
        ).toString(),
      );
    const foreign = await invoke({ message: 'stolen', apigw_endpoint: 'http://127.0.0.1:9/stolen' });
    expect(foreign).toMatchObject({ sent: 0, error: expect.stringContaining('is not this relay') });
    const own = await invoke({
      action: 'sendmessage',
      message: 'seed payload',
      apigw_endpoint: relay.managementEndpoint.replace(/\/@connections$/, ''),
    });
    expect(own).toMatchObject({ failed: 0 });
    expect(JSON.parse(await cli.next()).message).toBe('seed payload');
    expect(cli.messages).toEqual([]);
    client.destroy();
    cli.close();
  });
});

describe('embedded DynamoDB (dynamodb)', () => {
  const dynamo = (attack: Attack | 'valid') => {
    const client = new DynamoDBClient({ endpoint: relay.dynamoEndpoint, ...clientConfig(attack) });
    if (attack === 'none') afterSigning(client, stripSignature);
    if (attack === 'tampered body') afterSigning(client, swapBody('ATTACK#genuine', 'ATTACK#forged!'));
    return client;
  };
  const item = (pk: string) => ({ pk: { S: pk }, sk: { S: 'sigv4-test' }, note: { S: 'x' } });

  it('the SDK with the relay key reads and writes; each attack gets the DynamoDB error and writes nothing', async () => {
    for (const attack of ATTACKS) {
      const client = dynamo(attack);
      const pk = attack === 'tampered body' ? 'ATTACK#genuine' : `ATTACK#${attack}`;
      const error = await refused(attack, () =>
        client.send(new PutItemCommand({ TableName: relay.tableName, Item: item(pk) })),
      );
      const expected = EXPECTED[attack];
      expect([attack, error.name, error.$metadata.httpStatusCode]).toEqual([attack, expected.name, 400]);
      expect(error.message).toMatch(
        attack === 'none' ? /^Request is missing Authentication Token$/ : expected.message,
      );
      if (attack !== 'tampered body') {
        const read = await refused(attack, () =>
          client.send(new ScanCommand({ TableName: relay.tableName, Limit: 1 })),
        );
        expect([attack, read.name]).toEqual([attack, expected.name]);
      }
      client.destroy();
    }
    const client = dynamo('valid');
    await client.send(new PutItemCommand({ TableName: relay.tableName, Item: item('SIGV4#valid') }));
    const got = await client.send(
      new GetItemCommand({
        TableName: relay.tableName,
        Key: { pk: { S: 'SIGV4#valid' }, sk: { S: 'sigv4-test' } },
      }),
    );
    expect(got.Item?.note?.S).toBe('x');
    const scan = await client.send(new ScanCommand({ TableName: relay.tableName }));
    const written = (scan.Items ?? []).filter((i) => i.sk?.S === 'sigv4-test').map((i) => i.pk?.S);
    expect(written).toEqual(['SIGV4#valid']);
    client.destroy();
    // One log line per refusal: the code and the key id, never the secret.
    const refusals = lines.filter((l) => / dynamodb {4}PutItem refused /.test(l));
    expect(refusals.map((l) => l.split(' refused ')[1]?.split(' ')[0])).toEqual(
      ATTACKS.map((a) => EXPECTED[a].name),
    );
    expect(lines.join('\n')).not.toContain(relay.credentials.secretAccessKey);
  });
});

async function connectionIdOf(peer: Peer): Promise<string> {
  peer.send({ action: 'getConnectionId' });
  const answer = JSON.parse(await peer.next()) as { connectionId: string };
  peer.messages.length = 0;
  return answer.connectionId;
}
