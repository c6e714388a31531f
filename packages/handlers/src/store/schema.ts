import { GSI_BY_TYPE, TTL_ATTRIBUTE } from './keys.js';

/**
 * The relay table, described once for everybody who creates it (the Pulumi program, the local
 * relay, tests): keys pk/sk (S), the sparse GSI `byType` on gsi1pk/gsi1sk (connection items only,
 * projection ALL), TTL on `expiresAt`, on-demand billing.
 */
export const TABLE_SCHEMA = {
  hashKey: 'pk',
  rangeKey: 'sk',
  attributes: [
    { name: 'pk', type: 'S' },
    { name: 'sk', type: 'S' },
    { name: 'gsi1pk', type: 'S' },
    { name: 'gsi1sk', type: 'S' },
  ],
  globalSecondaryIndexes: [
    { name: GSI_BY_TYPE, hashKey: 'gsi1pk', rangeKey: 'gsi1sk', projectionType: 'ALL' },
  ],
  ttlAttribute: TTL_ATTRIBUTE,
  billingMode: 'PAY_PER_REQUEST',
} as const;
