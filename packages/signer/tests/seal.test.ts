/** Sealed payloads: only the pair opens them, bound to the routing fields and the key setup. */
import { describe, expect, it } from 'vitest';
import { keySetupBinding, newSealKeyPair, SealChannel } from '../src/index.js';

const binding = keySetupBinding({
  aggregatePublicKey: new Uint8Array(32).fill(7),
  publicKeys: [],
  sealPublicKeys: [],
});
const a = newSealKeyPair();
const b = newSealKeyPair();
const mpc = new SealChannel({
  ownSecretKey: a.secretKey,
  peerPublicKey: b.publicKey,
  selfId: 'mpc1',
  peerId: 'cli1',
  binding,
});
const cli = new SealChannel({
  ownSecretKey: b.secretKey,
  peerPublicKey: a.publicKey,
  selfId: 'cli1',
  peerId: 'mpc1',
  binding,
});
const context = { operationType: 'PartialSig', sessionId: 's1', teamId: 't' };

describe('sealed payloads', () => {
  it('opens what the peer sealed, compressing large bodies', () => {
    const value = { partialSig: 'ab'.repeat(32), blob: 'z'.repeat(5000) };
    const sealed = mpc.seal(value, context);
    expect(sealed.z).toBe('br');
    expect(JSON.stringify(sealed)).not.toContain('abab');
    expect(cli.open(sealed, context)).toEqual(value);
  });

  it('refuses a body moved to another operation type, session, team or direction, or altered', () => {
    const sealed = mpc.seal({ x: 1 }, context);
    expect(() => cli.open(sealed, { ...context, operationType: 'FullSig' })).toThrow(/authenticate/);
    expect(() => cli.open(sealed, { ...context, sessionId: 's2' })).toThrow(/authenticate/);
    expect(() => cli.open(sealed, { ...context, teamId: 'u' })).toThrow(/authenticate/);
    expect(() => mpc.open(sealed, context)).toThrow(/authenticate/); // its own message, reflected
    const ct = Buffer.from(sealed.ct, 'base64');
    ct[0] = (ct[0] as number) ^ 1;
    expect(() => cli.open({ ...sealed, ct: ct.toString('base64') }, context)).toThrow(/authenticate/);
  });

  it('keys of another key setup do not open it', () => {
    const other = new SealChannel({
      ownSecretKey: b.secretKey,
      peerPublicKey: a.publicKey,
      selfId: 'cli1',
      peerId: 'mpc1',
      binding: keySetupBinding({
        aggregatePublicKey: new Uint8Array(32).fill(8),
        publicKeys: [],
        sealPublicKeys: [],
      }),
    });
    expect(() => other.open(mpc.seal({ x: 1 }, context), context)).toThrow(/authenticate/);
  });
});
