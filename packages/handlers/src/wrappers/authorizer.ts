import type {
  APIGatewayAuthorizerResult,
  APIGatewayAuthorizerResultContext,
  APIGatewayRequestAuthorizerEvent,
} from 'aws-lambda';
import { type LambdaHandler, wrapInvocation } from './invocation.js';

/** What a REQUEST authorizer decides; `requestAuthorizer` turns it into what API Gateway expects. */
export type AuthorizerVerdict =
  /** An Allow policy; `context` reaches every later event of the connection. */
  | { effect: 'allow'; principalId: string; context?: APIGatewayAuthorizerResultContext }
  /** A Deny policy: API Gateway answers 403. `reason` goes to its logs (and the local relay's), never the client. */
  | { effect: 'deny'; reason: string }
  /** API Gateway answers 401. */
  | { effect: 'unauthorized' };

/** The connection id of a WebSocket `$connect` authorizer event (absent from the REST event type). */
export function authorizerConnectionId(event: APIGatewayRequestAuthorizerEvent): string | undefined {
  return (event?.requestContext as { connectionId?: string } | undefined)?.connectionId;
}

/**
 * A REQUEST authorizer on `$connect`. An unexpected failure (bad configuration, a key source down)
 * is logged and DENIES: fail closed, never Allow, never a 500. No metrics flush: the authorizer
 * counts none, and leaving the metrics library out keeps its bundle smaller.
 */
export function requestAuthorizer(
  decide: (event: APIGatewayRequestAuthorizerEvent) => Promise<AuthorizerVerdict>,
): LambdaHandler<APIGatewayRequestAuthorizerEvent, APIGatewayAuthorizerResult> {
  const guarded = wrapInvocation<APIGatewayRequestAuthorizerEvent, AuthorizerVerdict>(
    {
      logKeys: (event) => ({
        connectionId: authorizerConnectionId(event),
        routeKey: '$connect',
        handler: 'authorizer',
      }),
      failureMessage: 'authorizer failed',
      failureOutcome: 'deny',
      failureAnswer: () => ({ effect: 'deny', reason: 'authorizer failure' }),
    },
    decide,
  );
  return async (event, context) => {
    const verdict = await guarded(event, context);
    // API Gateway answers 401 only to an error with exactly this message.
    if (verdict.effect === 'unauthorized') throw new Error('Unauthorized');
    const resource = event?.methodArn ?? '*';
    if (verdict.effect === 'deny') {
      return { ...policy('denied', 'Deny', resource), context: { reason: verdict.reason } };
    }
    const allowed = policy(verdict.principalId, 'Allow', resource);
    if (verdict.context) allowed.context = verdict.context;
    return allowed;
  };
}

function policy(principalId: string, effect: 'Allow' | 'Deny', resource: string): APIGatewayAuthorizerResult {
  return {
    principalId,
    policyDocument: {
      Version: '2012-10-17',
      Statement: [{ Action: 'execute-api:Invoke', Effect: effect, Resource: resource }],
    },
  };
}
