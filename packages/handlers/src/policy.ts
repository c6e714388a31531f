import { ErrorCode, type ErrorFrameInput, type PeerIdentity } from '@mpc-relay/protocol';
import type { RelayConfig } from './config.js';

/**
 * Who may send what to whom, beyond routing. Today: the operation types allowed on this relay
 * (ALLOWED_OPERATION_TYPES). Issue 7 adds tenant isolation here (TENANT_ISOLATION, teams from the
 * authorizer context) without touching the routing.
 */
export function checkOperationType(config: RelayConfig, operationType: string): ErrorFrameInput | undefined {
  if (!config.allowedOperationTypes || config.allowedOperationTypes.has(operationType)) return undefined;
  return {
    code: ErrorCode.OperationNotAllowed,
    message: `operation type ${JSON.stringify(operationType)} is not allowed on this relay; allowed: ${[...config.allowedOperationTypes].join(', ')}`,
    issues: [{ path: 'operationType', message: 'not allowed' }],
  };
}

/** Seam for issue 7 (teams): allows everything for now. */
export function checkPeers(
  _config: RelayConfig,
  _sender: PeerIdentity,
  _target: PeerIdentity,
  _message: unknown,
): ErrorFrameInput | undefined {
  return undefined;
}
