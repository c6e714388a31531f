import { Sha256 } from '@smithy/core/checksum';
import { SignatureV4 } from '@smithy/signature-v4';

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
