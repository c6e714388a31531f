import type { AddressInfo } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createRelayTable } from '../../src/store/table.js';

export interface DynaliteServer {
  endpoint: string;
  client: DynamoDBClient;
  close(): Promise<void>;
}

/** An in-memory dynalite on a random port, with the relay table created by createRelayTable. */
export async function startDynalite(tableName: string): Promise<DynaliteServer> {
  const { default: dynalite } = await import('dynalite');
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({ endpoint, region: 'us-east-1' });
  await createRelayTable(client, tableName);
  return {
    endpoint,
    client,
    async close() {
      client.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
