export type { AuthorizerOutcome } from './authorizer.js';
export { evaluateAuthorizerResult, missingIdentitySource } from './authorizer.js';
export type { ConnectionInfo } from './connection.js';
export { lambdaHeapLimits } from './environments.js';
export type { DisconnectCause, GatewayEvents, RouteOutcome } from './events.js';
export type { LocalGateway } from './gateway.js';
export { createLocalGateway } from './gateway.js';
export { apiLikeId, awsLikeId, localFunctionName } from './ids.js';
export type { InvocationType } from './lambda-api.js';
export { resolveFunctionName } from './lambda-api.js';
export type { HandlerLoader, LambdaContext, LambdaHandler } from './loader.js';
export { createHandlerLoader } from './loader.js';
export type { GatewayAuthorizer, GatewayLimits, GatewayRoute, LocalGatewayOptions } from './options.js';
export { DEFAULT_LIMITS, directlyInvokedFunctions } from './options.js';
export { selectRouteKey } from './routing.js';
export type {
  AuthErrorResponse,
  AwsCredentials,
  SignedRequest,
  SigningService,
  SigV4Failure,
  SigV4Result,
  SigV4Verifier,
  SigV4VerifierOptions,
} from './sigv4.js';
export {
  amzDate,
  authErrorResponse,
  createSigV4Verifier,
  generateCredentials,
  MAX_CLOCK_SKEW_MS,
} from './sigv4.js';
