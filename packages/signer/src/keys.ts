/**
 * Where the co-signer's key comes from: a file holding the private key as hex, or the environment
 * variable MPC_RELAY_SIGNER_KEY. The key is never logged: errors name the source, not the value.
 */
import { constants } from 'node:fs';
import { open, readFile, stat } from 'node:fs/promises';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { SigningKeyError } from './errors.js';
import { parseSecretKeyHex, SingleKeyCosigner } from './single-key.js';

export const SIGNER_KEY_ENV = 'MPC_RELAY_SIGNER_KEY';

export interface KeySource {
  /** Path of a file holding the private key as 64 hex characters. Wins over the environment. */
  keyFile?: string | undefined;
  /** The environment to read MPC_RELAY_SIGNER_KEY from (default process.env). */
  env?: NodeJS.ProcessEnv;
}

export interface LoadedKey {
  cosigner: SingleKeyCosigner;
  /** `file PATH` or `env MPC_RELAY_SIGNER_KEY`, for logs. */
  source: string;
  /** Warnings worth showing (e.g. a key file readable by other users). */
  warnings: string[];
}

/** Loads the key; throws SigningKeyError (without the key in the message) when none or invalid. */
export async function loadSigningKey(source: KeySource): Promise<LoadedKey> {
  const warnings: string[] = [];
  if (source.keyFile) {
    let text: string;
    try {
      text = await readFile(source.keyFile, 'utf8');
    } catch (error) {
      throw new SigningKeyError(
        `cannot read key file ${source.keyFile}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
      );
    }
    try {
      const info = await stat(source.keyFile);
      if (process.platform !== 'win32' && (info.mode & 0o077) !== 0) {
        warnings.push(`key file ${source.keyFile} is readable by other users (chmod 600 it)`);
      }
    } catch {
      // stat failing right after a successful read is not worth failing for
    }
    try {
      return {
        cosigner: new SingleKeyCosigner(parseSecretKeyHex(text)),
        source: `file ${source.keyFile}`,
        warnings,
      };
    } catch (error) {
      throw new SigningKeyError(`key file ${source.keyFile}: ${(error as Error).message}`);
    }
  }
  const value = (source.env ?? process.env)[SIGNER_KEY_ENV];
  if (value !== undefined && value.trim() !== '') {
    try {
      return {
        cosigner: new SingleKeyCosigner(parseSecretKeyHex(value)),
        source: `env ${SIGNER_KEY_ENV}`,
        warnings,
      };
    } catch (error) {
      throw new SigningKeyError(`${SIGNER_KEY_ENV}: ${(error as Error).message}`);
    }
  }
  throw new SigningKeyError(`no signing key: give a key file or set ${SIGNER_KEY_ENV}`);
}

/**
 * Writes a new random private key (hex + newline) to `path` with mode 0600, refusing to overwrite
 * an existing file. Returns the public key (compressed hex).
 */
export async function generateKeyFile(path: string): Promise<{ publicKeyHex: string }> {
  const secretKey = secp256k1.utils.randomSecretKey();
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new SigningKeyError(
      code === 'EEXIST'
        ? `${path} already exists; not overwriting a key`
        : `cannot create ${path}: ${code ?? error}`,
    );
  }
  try {
    await handle.writeFile(`${bytesToHex(secretKey)}\n`, 'utf8');
  } finally {
    await handle.close();
    secretKey.fill(0);
  }
  const { cosigner } = await loadSigningKey({ keyFile: path });
  return { publicKeyHex: cosigner.publicKeyHex };
}
