import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';

/** SHA-256 for @smithy/signature-v4 on node:crypto; the local gateway's own is not reused, so signing stays independent of what verifies it. */
export class Sha256 {
  private hash: Hash | Hmac;
  constructor(private readonly secret?: string | ArrayBuffer | ArrayBufferView) {
    this.hash = Sha256.create(secret);
  }
  private static create(secret?: string | ArrayBuffer | ArrayBufferView): Hash | Hmac {
    if (secret === undefined) return createHash('sha256');
    const key =
      typeof secret === 'string'
        ? Buffer.from(secret, 'utf8')
        : ArrayBuffer.isView(secret)
          ? new Uint8Array(secret.buffer, secret.byteOffset, secret.byteLength)
          : new Uint8Array(secret);
    return createHmac('sha256', key);
  }
  update(data: Uint8Array): void {
    this.hash.update(data);
  }
  async digest(): Promise<Uint8Array> {
    return this.hash.digest();
  }
  reset(): void {
    this.hash = Sha256.create(this.secret);
  }
}

/** Where a signed request goes: a local gateway's credentials and region. */
export interface SigningTarget {
  credentials: { accessKeyId: string; secretAccessKey: string };
  region: string;
}

/**
 * fetch() with a SigV4 signature made with the gateway's credentials, as the SDK signs (service
 * `lambda` on the Invoke API's paths, `execute-api` elsewhere); `secretAccessKey` signs wrongly.
 */
export async function signedFetch(
  gateway: SigningTarget,
  url: string,
  init: { method?: string; body?: string; headers?: Record<string, string> } = {},
  secretAccessKey = gateway.credentials.secretAccessKey,
): Promise<Response> {
  const target = new URL(url);
  const service = target.pathname.startsWith('/2015-03-31/') ? 'lambda' : 'execute-api';
  const signer = new SignatureV4({
    service,
    region: gateway.region,
    credentials: { accessKeyId: gateway.credentials.accessKeyId, secretAccessKey },
    sha256: Sha256,
  });
  const query: Record<string, string> = {};
  for (const [k, v] of target.searchParams) query[k] = v;
  const signed = await signer.sign({
    method: init.method ?? 'GET',
    protocol: target.protocol,
    hostname: target.hostname,
    port: Number(target.port),
    path: target.pathname,
    query,
    headers: { host: target.host, ...init.headers },
    ...(init.body !== undefined ? { body: init.body } : {}),
  });
  const { host: _host, ...headers } = signed.headers;
  return fetch(url, {
    method: signed.method,
    headers,
    ...(init.body !== undefined ? { body: init.body } : {}),
  });
}
