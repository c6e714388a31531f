import { createPublicKey, verify as nodeVerify } from 'node:crypto';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { afterAll, describe, expect, it } from 'vitest';
import {
  canonicalSigningString,
  generateKeyFile,
  loadSigningKey,
  normalizePublicKeyHex,
  recoverFullSigSigner,
  SIGNER_KEY_ENV,
  SigningKeyError,
  SingleKeyCosigner,
  signingDigest,
  verifyFullSig,
} from '../src/index.js';

// The well-known web3.js documentation key (public, never use it for anything real).
const TEST_KEY = '4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318';
const TEST_PUBLIC_KEY = '024e3b81af9c2234cad09d679ce6035ed1392347ce64ce405f5dcd36228a25de6e';
const V1_REQUEST = {
  accountHash: 'accountHash',
  teamId: 'teamId',
  transactionId: 'transactionId',
  partialSig: 'partialSig',
};

const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'signer-test-'));
  dirs.push(dir);
  return dir;
}

function fullSigFor(cosigner: SingleKeyCosigner, request = V1_REQUEST) {
  const { partialSig: _partialSig, ...ids } = request;
  return { ...ids, ...cosigner.signFields(request) };
}

describe('the signed digest', () => {
  it('is SHA-256 of a domain-separated JSON array of the four v1 fields (known answer)', () => {
    expect(canonicalSigningString(V1_REQUEST)).toBe(
      'mpc-relay/single-key-cosigner/v1\n["accountHash","teamId","transactionId","partialSig"]',
    );
    expect(bytesToHex(signingDigest(V1_REQUEST))).toBe(
      'b2578575301768168425eea6fbc1f21f20c15bb901e811672fdddffa34c2d87e',
    );
  });

  it('cannot be confused by fields that spill into each other', () => {
    const a = signingDigest({ ...V1_REQUEST, accountHash: 'ab', teamId: 'c' });
    const b = signingDigest({ ...V1_REQUEST, accountHash: 'a', teamId: 'bc' });
    expect(bytesToHex(a)).not.toBe(bytesToHex(b));
  });
});

describe('SingleKeyCosigner', () => {
  const cosigner = SingleKeyCosigner.fromHex(TEST_KEY);

  it('derives the known public key and signs the original demo request deterministically (known answer)', () => {
    expect(cosigner.publicKeyHex).toBe(TEST_PUBLIC_KEY);
    expect(cosigner.signFields(V1_REQUEST)).toEqual({
      signatureR: '237a3a880f648553eaf8c496bbc8417ea968b550d29199b731b39f4f94744d21',
      signatureS: '1fd1fd031ca8733c1addbb20008e123af3ee54a7c98c5f586e9ba7a384cde2c7',
      signatureV: '1',
    });
  });

  it('produces a standard ECDSA signature that an independent implementation (node:crypto) accepts', () => {
    const { signatureR, signatureS } = cosigner.signFields(V1_REQUEST);
    const point = secp256k1.Point.fromHex(cosigner.publicKeyHex).toBytes(false);
    const key = createPublicKey({
      key: {
        kty: 'EC',
        crv: 'secp256k1',
        x: Buffer.from(point.subarray(1, 33)).toString('base64url'),
        y: Buffer.from(point.subarray(33, 65)).toString('base64url'),
      },
      format: 'jwk',
    });
    const signature = Buffer.from(signatureR + signatureS, 'hex');
    const data = Buffer.from(canonicalSigningString(V1_REQUEST), 'utf8');
    expect(nodeVerify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, signature)).toBe(true);
    expect(nodeVerify('sha256', Buffer.from('other'), { key, dsaEncoding: 'ieee-p1363' }, signature)).toBe(
      false,
    );
  });

  it('round-trips: verify against the public key (compressed or uncompressed) and recover it', () => {
    for (let i = 0; i < 20; i++) {
      const request = { ...V1_REQUEST, transactionId: `tx-${i}`, partialSig: `0x${i.toString(16)}` };
      const fullSig = fullSigFor(cosigner, request);
      expect(verifyFullSig(request, fullSig, TEST_PUBLIC_KEY)).toEqual({
        ok: true,
        publicKeyHex: TEST_PUBLIC_KEY,
      });
      const uncompressed = secp256k1.Point.fromHex(TEST_PUBLIC_KEY).toHex(false);
      expect(verifyFullSig(request, fullSig, uncompressed).ok).toBe(true);
      expect(recoverFullSigSigner(request, fullSig)).toEqual({ ok: true, publicKeyHex: TEST_PUBLIC_KEY });
    }
  });

  it('accepts 0x prefixes and Ethereum-style v (27/28)', () => {
    const fullSig = fullSigFor(cosigner);
    const v = String(Number(fullSig.signatureV) + 27);
    const variant = { ...fullSig, signatureR: `0x${fullSig.signatureR}`, signatureV: v };
    expect(verifyFullSig(V1_REQUEST, variant, `0x${TEST_PUBLIC_KEY}`).ok).toBe(true);
  });

  it('fails on any tampered field, a wrong key, a flipped v, or a malleable high-S form', () => {
    const fullSig = fullSigFor(cosigner);
    const other = SingleKeyCosigner.generate();
    const cases: [
      string,
      Parameters<typeof verifyFullSig>[0],
      Parameters<typeof verifyFullSig>[1],
      string,
    ][] = [
      ['accountHash', { ...V1_REQUEST, accountHash: 'x' }, { ...fullSig, accountHash: 'x' }, TEST_PUBLIC_KEY],
      ['teamId', { ...V1_REQUEST, teamId: 'x' }, { ...fullSig, teamId: 'x' }, TEST_PUBLIC_KEY],
      [
        'transactionId',
        { ...V1_REQUEST, transactionId: 'x' },
        { ...fullSig, transactionId: 'x' },
        TEST_PUBLIC_KEY,
      ],
      ['partialSig', { ...V1_REQUEST, partialSig: 'x' }, fullSig, TEST_PUBLIC_KEY],
      ['ids differ from the request', V1_REQUEST, { ...fullSig, transactionId: 'other' }, TEST_PUBLIC_KEY],
      ['wrong key', V1_REQUEST, fullSig, other.publicKeyHex],
      [
        'flipped v',
        V1_REQUEST,
        { ...fullSig, signatureV: fullSig.signatureV === '0' ? '1' : '0' },
        TEST_PUBLIC_KEY,
      ],
      ['bad v', V1_REQUEST, { ...fullSig, signatureV: '2' }, TEST_PUBLIC_KEY],
      ['bad r', V1_REQUEST, { ...fullSig, signatureR: 'zz' }, TEST_PUBLIC_KEY],
      ['r = 0', V1_REQUEST, { ...fullSig, signatureR: '0' }, TEST_PUBLIC_KEY],
      [
        's changed',
        V1_REQUEST,
        { ...fullSig, signatureS: (BigInt(`0x${fullSig.signatureS}`) + 1n).toString(16) },
        TEST_PUBLIC_KEY,
      ],
      [
        'high S',
        V1_REQUEST,
        {
          ...fullSig,
          signatureS: (secp256k1.Point.CURVE().n - BigInt(`0x${fullSig.signatureS}`)).toString(16),
          signatureV: fullSig.signatureV === '0' ? '1' : '0',
        },
        TEST_PUBLIC_KEY,
      ],
      ['not a key', V1_REQUEST, fullSig, 'abcd'],
    ];
    for (const [name, request, candidate, key] of cases) {
      const result = verifyFullSig(request, candidate, key);
      expect({ name, ok: result.ok }).toEqual({ name, ok: false });
    }
  });

  it('never exposes the private key through JSON, inspect or toString', () => {
    const shown = [
      JSON.stringify(cosigner),
      inspect(cosigner),
      String(cosigner),
      inspect({ nested: cosigner }),
    ];
    for (const text of shown) {
      expect(text).not.toContain(TEST_KEY);
      expect(text).toContain(TEST_PUBLIC_KEY);
    }
  });

  it('refuses invalid keys and answers a malformed PartialSig with a refusal', async () => {
    expect(() => SingleKeyCosigner.fromHex('12')).toThrow(SigningKeyError);
    expect(() => SingleKeyCosigner.fromHex('0'.repeat(64))).toThrow(/not a valid secp256k1/);
    expect(() => SingleKeyCosigner.fromHex('f'.repeat(64))).toThrow(/not a valid secp256k1/);
    const result = await cosigner.sign({ from: 'm', message: { teamId: 't' } as never });
    expect(result).toMatchObject({ ok: false, code: 'INVALID_REQUEST' });
    expect(normalizePublicKeyHex(secp256k1.Point.fromHex(TEST_PUBLIC_KEY).toHex(false))).toBe(
      TEST_PUBLIC_KEY,
    );
  });
});

describe('signing keys', () => {
  it('loads a key from a file (hex, 0x and whitespace allowed), warns when others can read it', async () => {
    const dir = await tempDir();
    const file = join(dir, 'key.hex');
    await writeFile(file, `  0x${TEST_KEY}\n`, { mode: 0o644 });
    const loaded = await loadSigningKey({ keyFile: file, env: {} });
    expect(loaded.cosigner.publicKeyHex).toBe(TEST_PUBLIC_KEY);
    expect(loaded.source).toBe(`file ${file}`);
    expect(loaded.warnings.join()).toMatch(/chmod 600/);
  });

  it('loads a key from MPC_RELAY_SIGNER_KEY; the file wins when both are given', async () => {
    const loaded = await loadSigningKey({ env: { [SIGNER_KEY_ENV]: TEST_KEY } });
    expect(loaded.cosigner.publicKeyHex).toBe(TEST_PUBLIC_KEY);
    expect(loaded.source).toBe(`env ${SIGNER_KEY_ENV}`);
    const dir = await tempDir();
    const generated = await generateKeyFile(join(dir, 'k'));
    const both = await loadSigningKey({ keyFile: join(dir, 'k'), env: { [SIGNER_KEY_ENV]: TEST_KEY } });
    expect(both.cosigner.publicKeyHex).toBe(generated.publicKeyHex);
  });

  it('explains what is wrong without ever printing the key', async () => {
    const dir = await tempDir();
    const bad = `${TEST_KEY.slice(0, 60)}zzzz`;
    const file = join(dir, 'bad.hex');
    await writeFile(file, bad, { mode: 0o600 });
    const failure = (promise: Promise<unknown>) =>
      promise.then(
        () => new Error('expected a failure'),
        (error: Error) => error,
      );
    const errors = await Promise.all([
      failure(loadSigningKey({ keyFile: file })),
      failure(loadSigningKey({ env: { [SIGNER_KEY_ENV]: bad } })),
      failure(loadSigningKey({ keyFile: join(dir, 'missing') })),
      failure(loadSigningKey({ env: {} })),
    ]);
    expect(errors.map((e) => e.message)).toEqual([
      `key file ${file}: the signing key must be 64 hexadecimal characters (32 bytes), optionally 0x-prefixed`,
      `${SIGNER_KEY_ENV}: the signing key must be 64 hexadecimal characters (32 bytes), optionally 0x-prefixed`,
      `cannot read key file ${join(dir, 'missing')}: ENOENT`,
      `no signing key: give a key file or set ${SIGNER_KEY_ENV}`,
    ]);
    for (const error of errors) {
      expect(error).toBeInstanceOf(SigningKeyError);
      expect(error.message).not.toContain(bad.slice(0, 20));
    }
  });

  it('generates a key file with mode 0600 and never overwrites one', async () => {
    const dir = await tempDir();
    const file = join(dir, 'new.hex');
    const { publicKeyHex } = await generateKeyFile(file);
    expect(publicKeyHex).toMatch(/^0[23][0-9a-f]{64}$/);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await loadSigningKey({ keyFile: file })).warnings).toEqual([]);
    await expect(generateKeyFile(file)).rejects.toThrow(/already exists/);
  });
});
