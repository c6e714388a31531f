import { compact, fixture, V1_EXAMPLES } from '@mpc-relay/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from './helpers/harness.js';

// The original demo's README examples (the shared fixtures, verbatim), payload in and exact payload out.
const REAL_MPC_SENDS = fixture(V1_EXAMPLES.realPartialSig.sent);
const REAL_CLI_RECEIVES = fixture(V1_EXAMPLES.realPartialSig.received);
const REAL_CLI_SENDS = fixture(V1_EXAMPLES.realFullSig.sent);
const REAL_MPC_RECEIVES = fixture(V1_EXAMPLES.realFullSig.received);

// The wscat walkthrough, with `from` as the sender's own id (the original demo's first example mixes ids up;
// the design takes the "Real Interaction Example" as the reference): its sent frames, not its received ones.
const CLI_ID = '6f3a8b0b-1f7f-4681-ae94-2b213f95f8a0';
const MPC_ID = 'b61c9f9e-13b8-4c87-a750-16e1cfdabe9c';
const WSCAT_MPC_SENDS = fixture(V1_EXAMPLES.wscatSigning.sent);
const WSCAT_CLI_SENDS = fixture(V1_EXAMPLES.wscatFullSig.sent);

describe('v1 examples (sources)', () => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await startHarness('src');
  });
  afterAll(async () => {
    await harness?.close();
  });

  it('Real Interaction Example: PartialSig to the cli, FullSig back to the mpc, exact payloads', async () => {
    const cli = await harness.relay.connect({ type: 'cli', id: 'cli123' });
    const mpc = await harness.relay.connect({ type: 'mpc', id: 'IgniterC56D' });

    const idAnswer = await cli.send({ action: 'getConnectionId' });
    expect(idAnswer).toEqual({ statusCode: 200, body: JSON.stringify({ connectionId: cli.connectionId }) });

    const sent = await mpc.send(REAL_MPC_SENDS);
    expect(sent).toEqual({ statusCode: 200 }); // the original demo answers nothing on success
    expect(cli.received()).toEqual([compact(REAL_CLI_RECEIVES)]);

    const reply = await cli.send(REAL_CLI_SENDS);
    expect(reply).toEqual({ statusCode: 200 });
    expect(mpc.received()).toEqual([compact(REAL_MPC_RECEIVES)]);
    // Nothing else went anywhere.
    expect(harness.management.posts).toHaveLength(2);
  });

  it('wscat walkthrough: signing to the cli, fullSig back to the mpc', async () => {
    const cli = await harness.relay.connect({ type: 'cli', id: CLI_ID });
    const mpc = await harness.relay.connect({ type: 'mpc', id: MPC_ID });

    expect(await mpc.send(WSCAT_MPC_SENDS)).toEqual({ statusCode: 200 });
    expect(cli.received()).toEqual([
      JSON.stringify({
        operationType: 'signing',
        from: MPC_ID,
        message: { txId: 'abc123', signature: '0xdeadbeef' },
      }),
    ]);

    expect(await cli.send(WSCAT_CLI_SENDS)).toEqual({ statusCode: 200 });
    expect(mpc.received()).toEqual([
      JSON.stringify({
        operationType: 'fullSig',
        from: CLI_ID,
        to: MPC_ID,
        message: { txId: 'abc123', signature: '0xdeadbeef' },
      }),
    ]);
  });
});
