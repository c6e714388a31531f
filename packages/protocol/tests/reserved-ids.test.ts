// The relay's own id (`from` of its broadcast) cannot be claimed by a connection.
import { describe, expect, it } from 'vitest';
import { decodeRelayFrame, isReservedPeerId, parseConnectParams, RESERVED_PEER_IDS } from '../src/index.js';

describe('reserved peer ids', () => {
  it('"relay" (any case) is refused as cliId or mpcId, with the parameter named', () => {
    expect(RESERVED_PEER_IDS).toEqual(['relay']);
    for (const query of [
      { type: 'mpc', mpcId: 'relay' },
      { type: 'cli', cliId: 'Relay' },
      { type: 'mpc', mpcId: 'RELAY' },
    ]) {
      const parsed = parseConnectParams(query);
      expect(parsed.ok).toBe(false);
      if (!parsed.ok) {
        expect(parsed.error.code).toBe('INVALID_FRAME');
        expect(parsed.error.issues?.[0]?.path).toBe(query.type === 'mpc' ? 'mpcId' : 'cliId');
        expect(parsed.error.message).toContain('reserved');
      }
    }
    expect(isReservedPeerId('relayer')).toBe(false);
    expect(parseConnectParams({ type: 'mpc', mpcId: 'relay-1' }).ok).toBe(true);
  });

  it('the relay still uses it as from (its broadcast decodes)', () => {
    const decoded = decodeRelayFrame('{"operationType":"broadcast","from":"relay","message":"hi"}');
    expect(decoded.ok && decoded.value.kind).toBe('cliDelivery');
  });
});
