import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';
import { createRelayTable, TABLE_SCHEMA } from '../src/store/table.js';
import { type DynaliteServer, startDynalite } from './helpers/dynalite.js';

describe('createRelayTable', () => {
  let dynalite: DynaliteServer;
  beforeAll(async () => {
    dynalite = await startDynalite('first');
  });
  afterAll(async () => {
    await dynalite?.close();
  });

  it('creates keys, the byType GSI and on-demand billing; TTL is skipped gracefully on dynalite', async () => {
    const result = await createRelayTable(dynalite.client, 'relay');
    expect(result).toEqual({ created: true, ttlEnabled: false });
    const { Table } = await dynalite.client.send(new DescribeTableCommand({ TableName: 'relay' }));
    expect(Table?.KeySchema).toEqual([
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ]);
    expect(Table?.GlobalSecondaryIndexes?.[0]).toMatchObject({
      IndexName: 'byType',
      KeySchema: [
        { AttributeName: 'gsi1pk', KeyType: 'HASH' },
        { AttributeName: 'gsi1sk', KeyType: 'RANGE' },
      ],
      Projection: { ProjectionType: 'ALL' },
    });
    expect(Table?.BillingModeSummary?.BillingMode).toBe('PAY_PER_REQUEST');
    expect(TABLE_SCHEMA.ttlAttribute).toBe('expiresAt');
  });

  it('is idempotent (the local relay restarts on the same data)', async () => {
    expect(await createRelayTable(dynalite.client, 'relay')).toEqual({ created: false, ttlEnabled: false });
  });
});

describe('loadConfig', () => {
  it('has the documented defaults', () => {
    expect(loadConfig({ TABLE_NAME: 't' })).toEqual({
      tableName: 't',
      authMode: 'static',
      mappingTtlSeconds: 3600,
      inboxTtlSeconds: 300,
      connectionTtlSeconds: 7200,
      dedupeTtlSeconds: 3600,
      redeliveryDelaySeconds: 30,
      allowedOperationTypes: undefined,
      tenantIsolation: false,
      inboxMaxMessages: 1000,
      inboxMaxBytes: 8388608,
      maxConnectionsPerPeer: 10,
      dynamodbEndpoint: undefined,
      managementEndpoint: undefined,
      region: 'us-east-1',
    });
  });

  it('parses every variable', () => {
    const config = loadConfig({
      TABLE_NAME: 't',
      AUTH_MODE: 'jwt',
      MAPPING_TTL_SECONDS: '60',
      INBOX_TTL_SECONDS: '30',
      CONNECTION_TTL_SECONDS: '600',
      DEDUPE_TTL_SECONDS: '120',
      REDELIVERY_DELAY_SECONDS: '0',
      ALLOWED_OPERATION_TYPES: ' PartialSig,FullSig ,',
      TENANT_ISOLATION: 'on',
      DYNAMODB_ENDPOINT: 'http://127.0.0.1:4567',
      MANAGEMENT_ENDPOINT: 'http://127.0.0.1:3001/local',
      AWS_REGION: 'eu-west-1',
    });
    expect(config).toMatchObject({
      authMode: 'jwt',
      mappingTtlSeconds: 60,
      inboxTtlSeconds: 30,
      connectionTtlSeconds: 600,
      dedupeTtlSeconds: 120,
      redeliveryDelaySeconds: 0,
      tenantIsolation: true,
      region: 'eu-west-1',
    });
    expect([...(config.allowedOperationTypes ?? [])]).toEqual(['PartialSig', 'FullSig']);
  });

  it('names the variable at fault', () => {
    expect(() => loadConfig({})).toThrow(ConfigError);
    expect(() => loadConfig({ TABLE_NAME: 't', INBOX_TTL_SECONDS: '-1' })).toThrow(/INBOX_TTL_SECONDS/);
    expect(() => loadConfig({ TABLE_NAME: 't', REDELIVERY_DELAY_SECONDS: '-1' })).toThrow(
      /REDELIVERY_DELAY_SECONDS/,
    );
    expect(() => loadConfig({ TABLE_NAME: 't', AUTH_MODE: 'none' })).toThrow(/AUTH_MODE/);
    expect(() => loadConfig({ TABLE_NAME: 't', TENANT_ISOLATION: 'yes' })).toThrow(/TENANT_ISOLATION/);
  });
});
