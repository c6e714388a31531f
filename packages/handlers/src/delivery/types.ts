// The seams of the delivery jobs, in a module that imports no implementation: the policy, the
// poster and the jobs all name them without importing one another.
import type { InboxItem } from '../store/inbox.js';

/** `ok`: posted; `gone`: 410 GoneException, the connection is stale; `failed`: anything else. */
export type PostOutcome =
  | { status: 'ok' }
  | { status: 'gone' }
  | { status: 'failed'; errorName: string; httpStatus?: number | undefined; errorMessage?: string };

/** The management API as the deliveries use it (`posterFor` in poster.ts; tests pass fakes). */
export interface Poster {
  readonly endpoint: string;
  post(connectionId: string, frame: string): Promise<PostOutcome>;
  /** DeleteConnection: API Gateway closes the connection (then runs `$disconnect`). */
  close(connectionId: string): Promise<PostOutcome>;
}

/**
 * Tenant isolation at delivery time (messages stored while the receiver was offline): the
 * receiver's teams are those of the draining connection.
 */
export interface DrainPolicy {
  /** Whether a stored message may reach this connection (see `mayReach` in policy.ts). */
  mayReceive(item: InboxItem): boolean;
  /** MAPPING_TTL_SECONDS, for mappings deferred to delivery (`item.mapping`). */
  mappingTtlSeconds: number;
}
