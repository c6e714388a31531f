import { putRoute, routeItem } from './conversations.js';
import type { TableRef } from './table.js';

export type { MappingItem } from './conversations.js';

/**
 * Remembers that `cliId` answers to `mpcId` for `ttlSeconds` (the latest mapping: 1 PutItem, last
 * writer wins). Written this way only for a mapping deferred to delivery (tenant isolation, see
 * `InboxItem.mapping`): no connection is recorded, so a reply Queries the mpc's connections.
 */
export async function putMapping(
  table: TableRef,
  cliId: string,
  mpcId: string,
  ttlSeconds: number,
  nowMs = Date.now(),
): Promise<void> {
  await putRoute(table, routeItem({ cliId, mpcId, connections: [] }, ttlSeconds, nowMs), nowMs);
}
