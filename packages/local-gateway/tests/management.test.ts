import {
  ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
  ForbiddenException,
  GetConnectionCommand,
  GoneException,
  PayloadTooLargeException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalGateway } from '../src/index.js';
import { ALLOW, fixtureGateway, recorded, signedFetch, TestClient, waitFor } from './helpers.js';

let gateway: LocalGateway;
let sdk: ApiGatewayManagementApiClient;
beforeAll(async () => {
  gateway = await fixtureGateway();
  sdk = new ApiGatewayManagementApiClient({
    endpoint: gateway.managementEndpoint,
    region: 'us-east-1',
    credentials: gateway.credentials,
  });
});
afterAll(async () => {
  sdk?.destroy();
  await gateway?.close();
});

async function openTracked(tag: string): Promise<{ client: TestClient; id: string }> {
  const client = await TestClient.open(`${gateway.url}?tag=${tag}`, {
    headers: { ...ALLOW, 'User-Agent': 'mgmt-test' },
  });
  const id = recorded('connect').find((e) => e.queryStringParameters?.tag === tag)!.requestContext
    .connectionId;
  return { client, id };
}

describe('@connections management API through the real AWS SDK client', () => {
  it('PostToConnection delivers the data as a text frame', async () => {
    const { client, id } = await openTracked('post');
    await sdk.send(new PostToConnectionCommand({ ConnectionId: id, Data: '{"hello":"world"}' }));
    expect(await client.next()).toBe('{"hello":"world"}');
    await sdk.send(
      new PostToConnectionCommand({ ConnectionId: id, Data: new TextEncoder().encode('bytes') }),
    );
    expect(await client.next()).toBe('bytes');
    client.close();
  });

  it('GetConnection answers connectedAt, identity and lastActiveAt', async () => {
    const { client, id } = await openTracked('get');
    client.send({ action: 'oneway' });
    await waitFor(
      () => gateway.connections().find((c) => c.connectionId === id && c.lastActiveAt > c.connectedAt),
      'activity',
      5_000,
    ).catch(() => undefined);
    const info = await sdk.send(new GetConnectionCommand({ ConnectionId: id }));
    expect(info.ConnectedAt).toBeInstanceOf(Date);
    expect(info.LastActiveAt).toBeInstanceOf(Date);
    expect(info.LastActiveAt!.getTime()).toBeGreaterThanOrEqual(info.ConnectedAt!.getTime());
    expect(info.Identity).toEqual({ SourceIp: '127.0.0.1', UserAgent: 'mgmt-test' });
    client.close();
  });

  it('GetConnection answers ISO dates in the raw JSON, like AWS', async () => {
    const { client, id } = await openTracked('getraw');
    const res = await signedFetch(
      gateway,
      `${gateway.managementEndpoint}/@connections/${encodeURIComponent(id)}`,
    );
    const body = (await res.json()) as {
      connectedAt: string;
      lastActiveAt: string;
      identity: { sourceIp: string };
    };
    expect(body.connectedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(body.lastActiveAt).toMatch(/Z$/);
    expect(body.identity.sourceIp).toBe('127.0.0.1');
    client.close();
  });

  it('PostToConnection answers 410 once the client has started closing, never a 200 for a frame it drops', async () => {
    const { client, id } = await openTracked('closing');
    // The client sends its close frame, then stops reading: the gateway's socket stays half-closed
    // (state still open) until its close timeout, the window where a post used to be dropped silently.
    client.ws.close(1000);
    (client.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    let status: number | undefined;
    for (const deadline = Date.now() + 5_000; status === undefined && Date.now() < deadline; ) {
      try {
        await sdk.send(new PostToConnectionCommand({ ConnectionId: id, Data: 'late' }));
        await new Promise((r) => setTimeout(r, 10));
      } catch (error) {
        if (error instanceof GoneException) status = 410;
        else throw error;
      }
    }
    expect(status).toBe(410);
    expect(gateway.connections().find((c) => c.connectionId === id)?.state).toBe('open');
    (client.ws as unknown as { _socket: { destroy(): void } })._socket.destroy();
  });

  it('DeleteConnection answers 204 and closes the connection with 1000', async () => {
    const { client, id } = await openTracked('delete');
    const out = await sdk.send(new DeleteConnectionCommand({ ConnectionId: id }));
    expect(out.$metadata.httpStatusCode).toBe(204);
    expect((await client.waitClosed()).code).toBe(1000);
    const disconnect = await waitFor(
      () => recorded('disconnect').find((e) => e.requestContext.connectionId === id),
      '$disconnect',
    );
    expect(disconnect.requestContext.disconnectStatusCode).toBe(1000);
  });

  it('a closed connection gives GoneException (410) on post, get and delete', async () => {
    const { client, id } = await openTracked('gone');
    client.ws.close(1000);
    await client.waitClosed();
    await waitFor(
      () => !gateway.connections().some((c) => c.connectionId === id),
      'the gateway to forget it',
    );
    for (const command of [
      new PostToConnectionCommand({ ConnectionId: id, Data: 'x' }),
      new GetConnectionCommand({ ConnectionId: id }),
      new DeleteConnectionCommand({ ConnectionId: id }),
    ]) {
      const error = await sdk.send(command as never).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(GoneException);
      expect((error as GoneException).$metadata.httpStatusCode).toBe(410);
    }
  });

  it('an unknown connection id gives GoneException', async () => {
    const error = await sdk
      .send(new PostToConnectionCommand({ ConnectionId: 'AAAAAAAAAAAAAAA=', Data: 'x' }))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GoneException);
  });

  it('a post above 131072 bytes gives PayloadTooLargeException (413); exactly 131072 is delivered', async () => {
    const { client, id } = await openTracked('big');
    const error = await sdk
      .send(new PostToConnectionCommand({ ConnectionId: id, Data: 'x'.repeat(131_073) }))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PayloadTooLargeException);
    expect((error as PayloadTooLargeException).$metadata.httpStatusCode).toBe(413);
    await sdk.send(new PostToConnectionCommand({ ConnectionId: id, Data: 'y'.repeat(131_072) }));
    expect((await client.next()).length).toBe(131_072);
    client.close();
  });

  it('a wrong stage gives ForbiddenException (403)', async () => {
    const { client, id } = await openTracked('stage');
    const other = new ApiGatewayManagementApiClient({
      endpoint: gateway.managementEndpoint.replace(/\/production$/, '/staging'),
      region: 'us-east-1',
      credentials: gateway.credentials,
    });
    const error = await other
      .send(new PostToConnectionCommand({ ConnectionId: id, Data: 'x' }))
      .catch((e: unknown) => e);
    other.destroy();
    expect(error).toBeInstanceOf(ForbiddenException);
    client.close();
  });

  it('%40connections works like @connections and every error carries x-amzn-ErrorType', async () => {
    const { client, id } = await openTracked('encoded');
    const ok = await signedFetch(
      gateway,
      `${gateway.managementEndpoint}/%40connections/${encodeURIComponent(id)}`,
      {
        method: 'POST',
        body: 'encoded path',
      },
    );
    expect(ok.status).toBe(200);
    expect(await client.next()).toBe('encoded path');
    const gone = await signedFetch(
      gateway,
      `${gateway.managementEndpoint}/%40connections/AAAAAAAAAAAAAAA%3D`,
      {
        method: 'POST',
        body: 'x',
      },
    );
    expect(gone.status).toBe(410);
    expect(gone.headers.get('x-amzn-errortype')).toBe('GoneException');
    expect(await gone.json()).toHaveProperty('message');
    client.close();
  });

  it('serves only requests signed with the gateway key: unsigned or wrongly signed posts deliver nothing', async () => {
    const { client, id } = await openTracked('unsigned');
    const url = `${gateway.managementEndpoint}/@connections/${encodeURIComponent(id)}`;
    const unsigned = await fetch(url, { method: 'POST', body: 'forged' });
    expect([unsigned.status, unsigned.headers.get('x-amzn-errortype')]).toEqual([
      403,
      'MissingAuthenticationTokenException',
    ]);
    expect(await unsigned.json()).toEqual({ message: 'Missing Authentication Token' });
    const wrong = await signedFetch(gateway, url, { method: 'POST', body: 'forged' }, 'not-the-secret');
    expect([wrong.status, wrong.headers.get('x-amzn-errortype')]).toEqual([403, 'InvalidSignatureException']);
    const stranger = new ApiGatewayManagementApiClient({
      endpoint: gateway.managementEndpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIASOMEONEELSE00000', secretAccessKey: 'x' },
      maxAttempts: 1,
    });
    const error = await stranger.send(new PostToConnectionCommand({ ConnectionId: id, Data: 'forged' })).then(
      () => undefined,
      (e: unknown) => e as { name: string; $metadata: { httpStatusCode: number } },
    );
    stranger.destroy();
    expect([error?.name, error?.$metadata.httpStatusCode]).toEqual(['UnrecognizedClientException', 403]);
    await sdk.send(new PostToConnectionCommand({ ConnectionId: id, Data: 'signed' }));
    expect(await client.next()).toBe('signed');
    client.close();
  });
});
