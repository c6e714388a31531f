import { STACK_SETTINGS } from '@mpc-relay/handlers/settings';
import { describe, expect, it } from 'vitest';
import { tunableSettings } from '../src/relay.js';

describe("the local relay's handler environment (from the handlers' contract)", () => {
  it("passes every stack-set handler setting of the relay's environment through, and nothing else", () => {
    const env = {
      INBOX_TTL_SECONDS: '60',
      DEDUPE_TTL_SECONDS: '120',
      MAX_CONNECTIONS_PER_PEER: '3',
      TABLE_NAME: 'not-this-one',
      DYNAMODB_ENDPOINT: 'http://elsewhere',
      HOME: '/root',
      REDELIVERY_DELAY_SECONDS: '',
    };
    expect(tunableSettings(env)).toEqual({
      INBOX_TTL_SECONDS: '60',
      DEDUPE_TTL_SECONDS: '120',
      MAX_CONNECTIONS_PER_PEER: '3',
    });
    const all = Object.fromEntries(STACK_SETTINGS.map((s) => [s.name, '1']));
    expect(Object.keys(tunableSettings(all)).sort()).toEqual(STACK_SETTINGS.map((s) => s.name).sort());
  });
});
