export type { AuthorizerOutcome } from './authorizer.js';
export { evaluateAuthorizerResult, missingIdentitySource } from './authorizer.js';
export type {
  ConnectionInfo,
  DisconnectCause,
  GatewayAuthorizer,
  GatewayEvents,
  GatewayLimits,
  GatewayRoute,
  LocalGateway,
  LocalGatewayOptions,
  RouteOutcome,
} from './gateway.js';
export { createLocalGateway, DEFAULT_LIMITS, selectRouteKey } from './gateway.js';
export { apiLikeId, awsLikeId } from './ids.js';
export type { HandlerLoader, LambdaContext, LambdaHandler } from './loader.js';
export { createHandlerLoader } from './loader.js';
