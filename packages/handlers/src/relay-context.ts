import { loadConfig, type RelayConfig } from './config.js';
import type { Poster } from './delivery/types.js';
import type { WebSocketEvent } from './events.js';
import { managementEndpoint, posterFor } from './poster.js';
import { relayTable } from './store/client.js';
import type { TableRef } from './store/table.js';

export interface RelayContext {
  config: RelayConfig;
  table: TableRef;
  poster: Poster;
}

/** Configuration, table and poster for one message event (clients come from the container caches). */
export function relayContext(event: WebSocketEvent): RelayContext {
  const config = loadConfig();
  const endpoint = managementEndpoint(config.managementEndpoint, event.requestContext);
  if (!endpoint)
    throw new Error('no management endpoint: set MANAGEMENT_ENDPOINT or send domainName and stage');
  return {
    config,
    table: relayTable(config),
    poster: posterFor(endpoint),
  };
}
