import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type AwsCredentials, generateCredentials } from '@mpc-relay/local-gateway';
import { UserError } from './errors.js';

/**
 * The relay's access key pair: what its management API, Lambda Invoke API and DynamoDB accept
 * (SigV4, like IAM on AWS) and what the handlers sign with (AWS_ACCESS_KEY_ID /
 * AWS_SECRET_ACCESS_KEY, as Lambda hands a function its role's keys). One pair per data folder,
 * in the AWS shared-credentials file format so the AWS CLI and SDKs read it as they are:
 * `AWS_SHARED_CREDENTIALS_FILE=<data-dir>/credentials AWS_PROFILE=mpc-relay-local`.
 */
export const CREDENTIALS_FILE = 'credentials';
export const CREDENTIALS_PROFILE = 'mpc-relay-local';
export const ACCESS_KEY_ENV = 'MPC_RELAY_ACCESS_KEY_ID';
export const SECRET_KEY_ENV = 'MPC_RELAY_SECRET_ACCESS_KEY';

export interface RelayCredentials {
  credentials: AwsCredentials;
  /** The file's absolute path, or `MPC_RELAY_ACCESS_KEY_ID / MPC_RELAY_SECRET_ACCESS_KEY`. */
  source: string;
  /** The shared-credentials file (also when the environment overrides it, so it can be named). */
  file: string;
  created: boolean;
}

/**
 * Refuses a secret file that group or others may read (or write): one line that names the fix.
 * Created files are 0600 already; this catches one copied or edited with a loose umask.
 */
export function assertPrivate(file: string, what: string): void {
  const mode = statSync(file).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    throw new UserError(
      `${what} ${file} is readable by group or others (mode ${mode.toString(8).padStart(4, '0')}); run: chmod 600 '${file}'`,
    );
  }
}

/** `[profile]` sections of a shared-credentials file: `key = value` lines, `#` / `;` comments. */
export function parseSharedCredentials(text: string): Map<string, Map<string, string>> {
  const profiles = new Map<string, Map<string, string>>();
  let current: Map<string, string> | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const section = /^\[\s*([^\]]+?)\s*\]$/.exec(line);
    if (section) {
      current = new Map();
      profiles.set(section[1]!, current);
      continue;
    }
    const eq = line.indexOf('=');
    if (current && eq > 0) current.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
  }
  return profiles;
}

export function formatSharedCredentials(credentials: AwsCredentials): string {
  return [
    '# mpc-relay: the access key of the local relay using this data folder. Its management API,',
    '# Lambda Invoke API and DynamoDB verify SigV4 signatures made with it, as AWS does.',
    `# AWS_SHARED_CREDENTIALS_FILE=<this file> AWS_PROFILE=${CREDENTIALS_PROFILE} aws ... --endpoint-url ...`,
    `[${CREDENTIALS_PROFILE}]`,
    `aws_access_key_id = ${credentials.accessKeyId}`,
    `aws_secret_access_key = ${credentials.secretAccessKey}`,
    '',
  ].join('\n');
}

/**
 * The environment's pair when both variables are set, else `<dataDir>/credentials` (profile
 * `mpc-relay-local`), created on first use with a random pair, mode 0600. `dataDir` must exist.
 */
export function loadOrCreateCredentials(
  dataDir: string,
  env: NodeJS.ProcessEnv = process.env,
): RelayCredentials {
  const file = join(resolve(dataDir), CREDENTIALS_FILE);
  const id = env[ACCESS_KEY_ENV]?.trim();
  const secret = env[SECRET_KEY_ENV]?.trim();
  if (id || secret) {
    if (!id || !secret) throw new UserError(`set both ${ACCESS_KEY_ENV} and ${SECRET_KEY_ENV}, or neither`);
    return {
      credentials: { accessKeyId: id, secretAccessKey: secret },
      source: `${ACCESS_KEY_ENV} / ${SECRET_KEY_ENV}`,
      file,
      created: false,
    };
  }
  const fresh = generateCredentials();
  try {
    // `wx`: never overwrite a pair another process created meanwhile (then it is read below).
    writeFileSync(file, formatSharedCredentials(fresh), { flag: 'wx', mode: 0o600 });
    return { credentials: fresh, source: file, created: true, file };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EEXIST')
      throw new UserError(`cannot create ${file} (${code ?? 'error'}); check --data-dir`);
  }
  let text: string;
  try {
    if (!statSync(file).isFile()) throw Object.assign(new Error('not a file'), { code: 'EISDIR' });
    assertPrivate(file, 'the credentials file');
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if (error instanceof UserError) throw error;
    throw new UserError(`cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  const profile = parseSharedCredentials(text).get(CREDENTIALS_PROFILE);
  const accessKeyId = profile?.get('aws_access_key_id');
  const secretAccessKey = profile?.get('aws_secret_access_key');
  if (!accessKeyId || !secretAccessKey) {
    throw new UserError(
      `${file} has no [${CREDENTIALS_PROFILE}] profile with aws_access_key_id and aws_secret_access_key; delete it to get a new pair`,
    );
  }
  return { credentials: { accessKeyId, secretAccessKey }, source: file, file, created: false };
}
