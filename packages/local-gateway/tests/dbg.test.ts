import { it } from 'vitest';
import { ALLOW, fixtureGateway, TestClient } from './helpers.js';

it(`close timing`, async () => {
  const gateway = await fixtureGateway({ limits: { handlerTimeoutMs: 1000 } });
  const client = await TestClient.open(gateway.url, { headers: ALLOW });
  client.close();
  const t = Date.now();
  await gateway.close();
  console.log('TOOK', Date.now() - t);
});
