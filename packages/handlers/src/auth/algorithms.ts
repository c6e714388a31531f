/**
 * The JWS algorithms `AUTH_MODE=jwt` may accept, and the defaults when none are pinned. Light on
 * purpose (no jose, no SDK): the Pulumi program validates its `jwtAlgorithms` config against the
 * same list through `@mpc-relay/handlers/jwt-algorithms`. `none` is never accepted.
 */
export const HMAC_ALGORITHMS = ['HS256', 'HS384', 'HS512'] as const;
export const ASYMMETRIC_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
] as const;
/** Every accepted algorithm: HS* first, then the asymmetric ones. */
export const JWT_ALGORITHMS = [...HMAC_ALGORITHMS, ...ASYMMETRIC_ALGORITHMS] as const;
export type JwtAlgorithm = (typeof JWT_ALGORITHMS)[number];

export function isJwtAlgorithm(alg: string): alg is JwtAlgorithm {
  return (JWT_ALGORITHMS as readonly string[]).includes(alg);
}

/** HS* (shared secret) rather than a key from the JWKS. */
export function isHmacAlgorithm(alg: string): boolean {
  return alg.startsWith('HS');
}

/** Pinned when nothing is configured: HS256 with a secret, RS256,ES256,EdDSA with a JWKS URL. */
export function defaultJwtAlgorithms(keys: { secret: boolean; jwks: boolean }): string[] {
  return [...(keys.secret ? ['HS256'] : []), ...(keys.jwks ? ['RS256', 'ES256', 'EdDSA'] : [])];
}
