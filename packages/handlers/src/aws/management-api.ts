import { AwsSdkSigV4Signer } from '@aws-sdk/core/httpAuthSchemes';
import { Sha256 } from '@smithy/core/checksum';
import { HttpRequest, type HttpResponse } from '@smithy/core/protocols';
import {
  DEFAULT_MAX_ATTEMPTS,
  getRetryAfterHint,
  isServerError,
  isThrottlingError,
  isTransientError,
  StandardRetryStrategy,
} from '@smithy/core/retry';
import { NodeHttpHandler, streamCollector } from '@smithy/node-http-handler';
import { SignatureV4 } from '@smithy/signature-v4';
import { environmentCredentials } from './credentials.js';

/**
 * The two calls of the API Gateway management API the handlers make (PostToConnection,
 * DeleteConnection), made with the SDK's own parts instead of its generated client: the client
 * carries the REST-JSON protocol, its schemas and endpoint rules (about 25 KB of the sendServer
 * bundle) for two requests whose shape never changes. What the client does for them is kept:
 * SigV4 (`execute-api`) by the SDK's signer with its clock-skew correction, the standard retry
 * strategy (same attempts, backoff, retry quota and error classification), the node HTTP handler,
 * and errors shaped like the client's (`name` from `x-amzn-ErrorType`, `$metadata.httpStatusCode`,
 * `$fault`, `$response`), so a 410 is a `GoneException` and a 429 is throttling.
 */
export interface ManagementApi {
  readonly endpoint: string;
  /** PostToConnection: `POST {endpoint}/@connections/{id}`, the frame as the body. */
  postToConnection(connectionId: string, data: Uint8Array): Promise<void>;
  /** DeleteConnection: `DELETE {endpoint}/@connections/{id}`. */
  deleteConnection(connectionId: string): Promise<void>;
}

/** What the SDK's errors carry and the callers (and the retry classification) read. */
export interface ManagementApiError extends Error {
  $fault: 'client' | 'server';
  $metadata: { httpStatusCode?: number; requestId?: string; attempts?: number; totalRetryDelay?: number };
  $response?: HttpResponse;
}

export function createManagementApi(endpoint: string, region: string): ManagementApi {
  const base = new URL(endpoint);
  const basePath = base.pathname.replace(/\/+$/, '');
  const http = new NodeHttpHandler();
  const retries = new StandardRetryStrategy(DEFAULT_MAX_ATTEMPTS);
  const signer = new AwsSdkSigV4Signer();
  const credentials = environmentCredentials();
  const sigV4 = new SignatureV4({
    service: 'execute-api',
    region,
    credentials,
    sha256: Sha256,
  });
  // Shared by every call through this endpoint, like a client's config: the signer keeps the
  // measured clock offset here.
  const config = { signer: async () => sigV4, systemClockOffset: 0 };

  async function call(method: 'POST' | 'DELETE', connectionId: string, body?: Uint8Array): Promise<void> {
    const request = new HttpRequest({
      method,
      protocol: base.protocol,
      hostname: base.hostname,
      ...(base.port ? { port: Number(base.port) } : {}),
      path: `${basePath}/@connections/${encodeLabel(connectionId)}`,
      headers: {
        host: base.host,
        ...(body
          ? { 'content-type': 'application/octet-stream', 'content-length': String(body.byteLength) }
          : {}),
      },
      ...(body ? { body } : {}),
    });
    let token = await retries.acquireInitialRetryToken('');
    let attempts = 0;
    let totalRetryDelay = 0;
    while (true) {
      const signing = { config, context: {}, signingRegion: region, signingName: 'execute-api' };
      try {
        const signed = await signer.sign(request, await credentials(), signing);
        const { response } = await http.handle(signed as HttpRequest);
        const text = response.body ? new TextDecoder().decode(await streamCollector(response.body)) : '';
        if (response.statusCode >= 300) throw serviceError(response, text);
        signer.successHandler(response, signing);
        retries.recordSuccess(token);
        return;
      } catch (caught) {
        // As the SDK's retry middleware does (asSdkError): whatever was thrown becomes an Error.
        const error = (caught instanceof Error ? caught : new Error(String(caught))) as ManagementApiError;
        try {
          // Samples the server's clock from the answer (a corrected skew makes the error
          // retryable), then rethrows.
          signer.errorHandler(signing)(error);
        } catch {
          // The same error.
        }
        try {
          token = await retries.refreshRetryTokenForRetry(token, {
            errorType: retryErrorType(error),
            ...retryAfter(error),
          });
        } catch {
          error.$metadata = { ...error.$metadata, attempts: attempts + 1, totalRetryDelay };
          throw error;
        }
        attempts = token.getRetryCount();
        const delay = token.getRetryDelay();
        totalRetryDelay +=
          ((token as { $retryLog?: { acquisitionDelay?: number } }).$retryLog?.acquisitionDelay ?? 0) + delay;
        if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }

  return {
    endpoint,
    postToConnection: (connectionId, data) => call('POST', connectionId, data),
    deleteConnection: (connectionId) => call('DELETE', connectionId),
  };
}

/** A path label as the SDK encodes it (encodeURIComponent, plus the characters it leaves). */
function encodeLabel(label: string): string {
  return encodeURIComponent(label).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** An error response as the REST-JSON protocol reads it: the type from the header, else the body. */
function serviceError(response: HttpResponse, text: string): ManagementApiError {
  let parsed: { message?: unknown; Message?: unknown; code?: unknown; __type?: unknown } = {};
  try {
    const value = text ? JSON.parse(text) : {};
    if (value && typeof value === 'object') parsed = value;
  } catch {
    // Not JSON (a proxy's HTML page): the status decides.
  }
  const header = headerValue(response, 'x-amzn-errortype');
  const code =
    header ??
    (typeof parsed.code === 'string' ? parsed.code : undefined) ??
    (typeof parsed.__type === 'string' ? parsed.__type : undefined);
  const name = code ? (code.split(':')[0] ?? code).split('#').pop() || 'UnknownError' : 'UnknownError';
  const message = parsed.message ?? parsed.Message;
  const requestId = headerValue(response, 'x-amzn-requestid');
  const error = new Error(typeof message === 'string' ? message : name) as ManagementApiError;
  error.name = name;
  error.$fault = response.statusCode >= 500 ? 'server' : 'client';
  error.$metadata = { httpStatusCode: response.statusCode, ...(requestId ? { requestId } : {}) };
  error.$response = response;
  return error;
}

function headerValue(response: HttpResponse, name: string): string | undefined {
  for (const [key, value] of Object.entries(response.headers)) {
    if (key.toLowerCase() === name) return value;
  }
  return undefined;
}

/** The SDK retry middleware's classification, in its order. */
function retryErrorType(
  caught: ManagementApiError,
): 'THROTTLING' | 'TRANSIENT' | 'SERVER_ERROR' | 'CLIENT_ERROR' {
  const error = caught as Parameters<typeof isTransientError>[0];
  if (isThrottlingError(error)) return 'THROTTLING';
  if (isTransientError(error)) return 'TRANSIENT';
  if (isServerError(error)) return 'SERVER_ERROR';
  return 'CLIENT_ERROR';
}

function retryAfter(error: ManagementApiError): { retryAfterHint?: Date } {
  const hint = error.$response ? getRetryAfterHint(error.$response) : undefined;
  return hint ? { retryAfterHint: hint } : {};
}
