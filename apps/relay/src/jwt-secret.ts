import { createHmac, randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { assertPrivate } from './credentials.js';
import { UserError } from './errors.js';

/**
 * The HS256 secret shared by the local relay in jwt mode (`pnpm start -- --auth jwt`) and the token
 * command (`pnpm run token`; plain `pnpm token` is a pnpm built-in): `MPC_RELAY_JWT_SECRET` when set, else `<data-dir>/jwt-secret`, created on
 * first use (32 random bytes, base64url, mode 0600). The HMAC key is the secret text's UTF-8 bytes,
 * exactly as the handlers use `JWT_SECRET` (and the SSM parameter on AWS).
 */
export const JWT_SECRET_FILE = 'jwt-secret';
export const JWT_SECRET_ENV = 'MPC_RELAY_JWT_SECRET';
/** Same floor as the handlers (`MIN_SECRET_BYTES`). */
export const MIN_SECRET_BYTES = 32;

export interface JwtSecret {
  secret: string;
  /** `MPC_RELAY_JWT_SECRET`, or the file's absolute path. */
  source: string;
  created: boolean;
}

function checkLength(secret: string, source: string): string {
  if (Buffer.byteLength(secret, 'utf8') < MIN_SECRET_BYTES) {
    throw new UserError(`the jwt secret in ${source} is shorter than ${MIN_SECRET_BYTES} bytes`);
  }
  return secret;
}

/** Reads the shared secret, creating `<dataDir>/jwt-secret` when neither it nor the variable exists. */
export function loadOrCreateJwtSecret(dataDir: string, env: NodeJS.ProcessEnv = process.env): JwtSecret {
  const fromEnv = env[JWT_SECRET_ENV];
  if (fromEnv !== undefined && fromEnv.trim() !== '') {
    return { secret: checkLength(fromEnv.trim(), JWT_SECRET_ENV), source: JWT_SECRET_ENV, created: false };
  }
  const dir = resolve(dataDir);
  const file = join(dir, JWT_SECRET_FILE);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const secret = randomBytes(32).toString('base64url');
    // `wx`: never overwrite a secret another process created meanwhile (then it is read below).
    writeFileSync(file, `${secret}\n`, { flag: 'wx', mode: 0o600 });
    chmodSync(file, 0o600); // the umask cannot widen it, but be explicit
    return { secret, source: file, created: true };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EEXIST') {
      throw new UserError(`cannot create the jwt secret ${file} (${code ?? 'error'}); check --data-dir`);
    }
  }
  let text: string;
  try {
    if (!statSync(file).isFile()) throw Object.assign(new Error('not a file'), { code: 'EISDIR' });
    assertPrivate(file, 'the jwt secret');
    text = readFileSync(file, 'utf8').trim();
  } catch (error) {
    if (error instanceof UserError) throw error;
    throw new UserError(
      `cannot read the jwt secret ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
  return { secret: checkLength(text, file), source: file, created: false };
}

const PEER_ID = /^[A-Za-z0-9_.-]{1,128}$/;
const TEAM_ID = /^[A-Za-z0-9_.:-]{1,128}$/;

export interface TokenClaims {
  type: 'cli' | 'mpc';
  id: string;
  ttlSeconds: number;
  teams?: readonly string[];
  /** The `peers` claim: the only counterparts this peer may exchange messages with. */
  peers?: readonly string[];
  audience?: string;
  issuer?: string;
  /** Epoch seconds; default now. */
  now?: number;
}

/**
 * A compact HS256 JWT (RFC 7519) with `sub` = `TYPE:ID`, `iat`, `exp`, a random `jti`, and
 * `teams` / `aud` / `iss` when given. Signed with node:crypto (no dependency); the handlers verify
 * it with jose.
 */
export function signToken(secret: string, claims: TokenClaims): string {
  if (claims.type !== 'cli' && claims.type !== 'mpc') throw new UserError('type must be cli or mpc');
  if (!PEER_ID.test(claims.id)) {
    throw new UserError('id must be 1 to 128 letters, digits, "_", "-" or "."');
  }
  if (!Number.isSafeInteger(claims.ttlSeconds) || claims.ttlSeconds <= 0)
    throw new UserError('ttl must be positive');
  for (const team of claims.teams ?? []) {
    if (!TEAM_ID.test(team)) throw new UserError(`team ${JSON.stringify(team)} is not a team id`);
  }
  for (const peer of claims.peers ?? []) {
    if (!PEER_ID.test(peer)) throw new UserError(`peer ${JSON.stringify(peer)} is not a peer id`);
  }
  if (claims.id.toLowerCase() === 'relay') throw new UserError('"relay" is the relay\'s own id');
  const now = claims.now ?? Math.floor(Date.now() / 1000);
  const payload = {
    sub: `${claims.type}:${claims.id}`,
    iat: now,
    exp: now + claims.ttlSeconds,
    jti: randomBytes(12).toString('base64url'),
    ...(claims.teams && claims.teams.length > 0 ? { teams: [...claims.teams] } : {}),
    ...(claims.peers ? { peers: [...claims.peers] } : {}),
    ...(claims.audience ? { aud: claims.audience } : {}),
    ...(claims.issuer ? { iss: claims.issuer } : {}),
  };
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
  const input = `${encode({ alg: 'HS256', typ: 'JWT' })}.${encode(payload)}`;
  const signature = createHmac('sha256', Buffer.from(secret, 'utf8')).update(input).digest('base64url');
  return `${input}.${signature}`;
}

/** `90`, `90s`, `15m`, `1h`, `7d` -> seconds. */
export function parseTtl(text: string): number {
  const match = /^(\d+)\s*([smhd]?)$/i.exec(text.trim());
  if (!match) throw new UserError(`ttl ${JSON.stringify(text)} is not a duration like 90s, 15m, 1h or 7d`);
  const unit = { '': 1, s: 1, m: 60, h: 3600, d: 86_400 }[(match[2] ?? '').toLowerCase()] ?? 1;
  const seconds = Number(match[1]) * unit;
  if (!Number.isSafeInteger(seconds) || seconds <= 0 || seconds > 366 * 86_400) {
    throw new UserError('ttl must be between 1 second and 366 days');
  }
  return seconds;
}
