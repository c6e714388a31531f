import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

/**
 * CloudWatch metrics as EMF log lines (no API calls, so cheap). Namespace POWERTOOLS_METRICS_NAMESPACE,
 * default `MpcRelay` (never the "namespace missing" warning). Disabled with
 * POWERTOOLS_METRICS_DISABLED=true, and by default in local runs (DYNAMODB_ENDPOINT set) so the
 * local relay's console stays readable; POWERTOOLS_METRICS_DISABLED=false forces them on.
 */
if (process.env.POWERTOOLS_METRICS_DISABLED === undefined && process.env.DYNAMODB_ENDPOINT) {
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
}

const metrics = new Metrics({
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'MpcRelay',
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'mpc-relay',
});

let pending = false;

export type MetricName =
  | 'MessagesDelivered'
  | 'MessagesStored'
  | 'InboxDelivered'
  | 'InboxExpired'
  | 'InboxDropped'
  | 'StaleConnections'
  | 'PostFailures'
  | 'ErrorFrames'
  | 'TokenExpired'
  | 'BroadcastSent'
  | 'InboxFull'
  | 'ConversationTaken'
  | 'ConnectionsOverLimit';

export function count(name: MetricName, value = 1): void {
  if (value <= 0) return;
  try {
    metrics.addMetric(name, MetricUnit.Count, value);
    pending = true;
  } catch {
    // Metrics must never break a handler.
  }
}

/** Writes the invocation's metrics (one EMF line) if there are any. */
export function flushMetrics(): void {
  if (!pending) return;
  pending = false;
  try {
    metrics.publishStoredMetrics();
  } catch {
    // Metrics must never break a handler.
  }
}
