import { fromEnv } from '@aws-sdk/credential-provider-env';

type CredentialProvider = ReturnType<typeof fromEnv>;

/**
 * Lambda puts the function role's credentials in the environment (AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), and so does the local gateway: the environment is the
 * only credential source a handler needs. Read lazily, at the first signed request, and cached.
 */
export function environmentCredentials(): CredentialProvider {
  return fromEnv();
}

/**
 * Stands in for `@aws-sdk/credential-provider-node` in the bundles (scripts/bundle-options.mjs):
 * the SDK's default chain (SSO, STS web identity, IMDS, ini files and their nested clients) is
 * code a Lambda function never runs.
 */
export const defaultProvider = (): CredentialProvider => fromEnv();
