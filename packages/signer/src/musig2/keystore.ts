/**
 * Where each party keeps its side of a MuSig2 pair: one JSON file per peer, mode 0600, in a folder
 * of mode 0700. A file holds this party's own secret key and the peer's public key (and, for a
 * sealed pair, this party's X25519 secret and the peer's X25519 public key); everything else (the
 * aggregate key, the Taproot address) is derived again on load. Secret nonces are never written.
 */
import { constants } from 'node:fs';
import { chmod, mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { PeerIdSchema, type PeerType } from '@mpc-relay/protocol';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { SigningKeyError } from '../errors.js';
import { keySetupBinding, SealChannel, sealPublicKeyOf } from '../seal.js';
import {
  type AggregateKey,
  aggregateKey,
  type BitcoinNetwork,
  individualPublicKey,
  type Musig2Signing,
} from './core.js';

export interface PairFile {
  version: 1;
  scheme: 'BIP-340/MuSig2';
  self: { type: PeerType; id: string };
  peerId: string;
  network: BitcoinNetwork;
  secretKey: string;
  peerPublicKey: string;
  sealSecretKey?: string;
  peerSealPublicKey?: string;
  createdAt: string;
}

/** One party's side of a MuSig2 pair, in memory: the secret key never leaves this object. */
export class Musig2Pair {
  readonly selfId: string;
  readonly peerId: string;
  readonly publicKey: Uint8Array;
  readonly peerPublicKey: Uint8Array;
  readonly key: AggregateKey;
  readonly seal: SealChannel | undefined;
  readonly sealPublicKey: Uint8Array | undefined;
  readonly #secretKey: Uint8Array;
  readonly #file: PairFile;

  constructor(file: PairFile) {
    this.#file = file;
    this.selfId = file.self.id;
    this.peerId = file.peerId;
    this.#secretKey = hexToBytes(file.secretKey);
    this.publicKey = individualPublicKey(this.#secretKey);
    this.peerPublicKey = hexToBytes(file.peerPublicKey);
    this.key = aggregateKey(this.publicKey, this.peerPublicKey, file.network);
    if (file.sealSecretKey && file.peerSealPublicKey) {
      const own = hexToBytes(file.sealSecretKey);
      const peer = hexToBytes(file.peerSealPublicKey);
      this.sealPublicKey = sealPublicKeyOf(own);
      this.seal = new SealChannel({
        ownSecretKey: own,
        peerPublicKey: peer,
        selfId: this.selfId,
        peerId: this.peerId,
        binding: keySetupBinding({
          aggregatePublicKey: this.key.aggregatePublicKey,
          publicKeys: [this.publicKey, this.peerPublicKey],
          sealPublicKeys: [this.sealPublicKey, peer],
        }),
      });
    }
  }

  get aggregatePublicKeyHex(): string {
    return bytesToHex(this.key.aggregatePublicKey);
  }

  /** This party's partial signature; the secret nonce is consumed (zeroed) whatever happens. */
  partialSign(signing: Musig2Signing, secretNonce: Uint8Array): Uint8Array {
    return signing.sign(secretNonce, this.#secretKey);
  }

  /** For nonce generation (BIP-327 mixes the secret key in). */
  withSecretKey<T>(use: (secretKey: Uint8Array) => T): T {
    return use(this.#secretKey);
  }

  /** The file form (secrets included): only the store writes it. */
  toFile(): PairFile {
    return { ...this.#file };
  }

  describe(): {
    peerId: string;
    aggregatePublicKey: string;
    internalKey: string;
    taprootAddress: string;
    sealed: boolean;
  } {
    return {
      peerId: this.peerId,
      aggregatePublicKey: this.aggregatePublicKeyHex,
      internalKey: bytesToHex(this.key.internalKey),
      taprootAddress: this.key.taprootAddress,
      sealed: this.seal !== undefined,
    };
  }

  toJSON(): ReturnType<Musig2Pair['describe']> {
    return this.describe();
  }

  [inspect.custom](): string {
    return `Musig2Pair { ${JSON.stringify(this.describe())}, secretKey: [redacted] }`;
  }
}

export class Musig2KeyStore {
  readonly dir: string;
  readonly self: { type: PeerType; id: string };
  readonly network: BitcoinNetwork;
  readonly #pairs = new Map<string, Musig2Pair>();

  constructor(options: { dir: string; self: { type: PeerType; id: string }; network?: BitcoinNetwork }) {
    this.dir = options.dir;
    this.self = options.self;
    this.network = options.network ?? 'mainnet';
  }

  #path(peerId: string): string {
    if (!PeerIdSchema.safeParse(peerId).success)
      throw new SigningKeyError(`invalid peer id ${JSON.stringify(peerId)}`);
    return join(this.dir, `musig2-${peerId}.json`);
  }

  /** Creates the folder (0700) and loads every pair in it that belongs to this party. */
  async open(): Promise<this> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await chmod(this.dir, 0o700);
    for (const name of await readdir(this.dir)) {
      const match = /^musig2-([A-Za-z0-9_.-]+)\.json$/.exec(name);
      if (match) await this.get(match[1] as string);
    }
    return this;
  }

  /** A pair already in memory (every pair of the folder is loaded by `open`). */
  cached(peerId: string): Musig2Pair | undefined {
    return this.#pairs.get(peerId);
  }

  /** The peers this party has a pair with. */
  get peers(): string[] {
    return [...this.#pairs.keys()];
  }

  /** The pair with `peerId`, from memory or its file; undefined when there is none. */
  async get(peerId: string): Promise<Musig2Pair | undefined> {
    const cached = this.#pairs.get(peerId);
    if (cached) return cached;
    const path = this.#path(peerId);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new SigningKeyError(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? error}`);
    }
    const info = await stat(path);
    if (process.platform !== 'win32' && (info.mode & 0o077) !== 0) {
      throw new SigningKeyError(`${path} is readable by other users: chmod 600 it`);
    }
    let file: PairFile;
    try {
      file = JSON.parse(text) as PairFile;
    } catch {
      throw new SigningKeyError(`${path} is not JSON`);
    }
    if (file.version !== 1 || file.self?.id !== this.self.id || file.peerId !== peerId) {
      throw new SigningKeyError(`${path} is not a MuSig2 pair of ${this.self.id} with ${peerId}`);
    }
    const pair = new Musig2Pair(file);
    this.#pairs.set(peerId, pair);
    return pair;
  }

  /** Writes a new pair (0600, atomically); refuses to replace one unless `replace`. */
  async save(
    parts: {
      peerId: string;
      secretKey: Uint8Array;
      peerPublicKey: Uint8Array;
      sealSecretKey?: Uint8Array;
      peerSealPublicKey?: Uint8Array;
    },
    replace = false,
  ): Promise<Musig2Pair> {
    const path = this.#path(parts.peerId);
    const file: PairFile = {
      version: 1,
      scheme: 'BIP-340/MuSig2',
      self: this.self,
      peerId: parts.peerId,
      network: this.network,
      secretKey: bytesToHex(parts.secretKey),
      peerPublicKey: bytesToHex(parts.peerPublicKey),
      ...(parts.sealSecretKey && parts.peerSealPublicKey
        ? {
            sealSecretKey: bytesToHex(parts.sealSecretKey),
            peerSealPublicKey: bytesToHex(parts.peerSealPublicKey),
          }
        : {}),
      createdAt: new Date().toISOString(),
    };
    const pair = new Musig2Pair(file); // validates before anything is written
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const temporary = `${path}.${process.pid}.tmp`;
    const handle = await open(temporary, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
    try {
      await handle.writeFile(`${JSON.stringify(file, null, 2)}\n`, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      if (!replace) {
        try {
          await stat(path);
          throw new SigningKeyError(
            `a MuSig2 pair with ${parts.peerId} already exists (${path}); delete it to set up again`,
          );
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        }
      }
      await rename(temporary, path);
    } finally {
      await rm(temporary, { force: true });
    }
    this.#pairs.set(parts.peerId, pair);
    return pair;
  }

  async has(peerId: string): Promise<boolean> {
    return (await this.get(peerId)) !== undefined;
  }
}
