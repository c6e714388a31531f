import { createManagementApi, type ManagementApi } from './aws/management-api.js';
import type { Poster } from './delivery/types.js';
import type { WebSocketRequestContext } from './events.js';

/**
 * PostToConnection through the API Gateway management API. Endpoint: MANAGEMENT_ENDPOINT when set
 * (the local gateway), else `https://{domainName}/{stage}` from the event. One client per endpoint,
 * cached for the container's life.
 */
const clients = new Map<string, ManagementApi>();

export function managementClient(endpoint: string): ManagementApi {
  let client = clients.get(endpoint);
  if (!client) {
    client = createManagementApi(
      endpoint,
      process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION || 'us-east-1',
    );
    clients.set(endpoint, client);
  }
  return client;
}

/** The management endpoint for an event: the override, else the API's own domain and stage. */
export function managementEndpoint(
  override: string | undefined,
  requestContext?: Pick<WebSocketRequestContext, 'domainName' | 'stage'>,
): string | undefined {
  if (override) return override.replace(/\/+$/, '');
  if (requestContext?.domainName && requestContext.stage) {
    return `https://${requestContext.domainName}/${requestContext.stage}`;
  }
  return undefined;
}

export function isGone(error: unknown): boolean {
  const candidate = error as { name?: string; $metadata?: { httpStatusCode?: number } } | undefined;
  return candidate?.name === 'GoneException' || candidate?.$metadata?.httpStatusCode === 410;
}

const encoder = new TextEncoder();

export function posterFor(endpoint: string): Poster {
  const client = managementClient(endpoint);
  return {
    endpoint,
    async post(connectionId, frame) {
      try {
        await client.postToConnection(connectionId, encoder.encode(frame));
        return { status: 'ok' };
      } catch (error) {
        if (isGone(error)) return { status: 'gone' };
        return {
          status: 'failed',
          errorName: (error as Error)?.name ?? 'Error',
          httpStatus: (error as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode,
          errorMessage: String((error as Error)?.message).slice(0, 200),
        };
      }
    },
    async close(connectionId) {
      try {
        await client.deleteConnection(connectionId);
        return { status: 'ok' };
      } catch (error) {
        if (isGone(error)) return { status: 'gone' };
        return { status: 'failed', errorName: (error as Error)?.name ?? 'Error' };
      }
    },
  };
}
