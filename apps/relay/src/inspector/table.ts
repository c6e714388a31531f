import { type AttributeValue, DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { KEY } from '@mpc-relay/handlers';
import { type ConversationRow, LIMITS, type TableView, type WaitingRow } from './model.js';

/** The user agent of the inspector's own reads: the DynamoDB counter leaves them out. */
export const INSPECTOR_USER_AGENT = 'mpc-relay-inspector';

/** Items read at most per refresh (a local relay's table is small; past it the view says partial). */
const MAX_ITEMS = 4_000;
const PAGE = 1_000;

/** Only what the inspector shows: never `frame` (the payload). */
const PROJECTED = [
  'pk',
  'sk',
  'cliId',
  'mpcId',
  'expiresAt',
  'updatedAt',
  'size',
  'storedAt',
  'doneAt',
  'operationType',
  'transactionId',
  'sessionId',
  'conversationKey',
  'key',
  'teamId',
];

const MAPPING_PREFIX = KEY.mapping('');
const inboxPrefix = (type: 'cli' | 'mpc') => KEY.inbox({ type, id: '' });
const INBOX_PREFIXES = [inboxPrefix('cli'), inboxPrefix('mpc')];
/** `INBOX#`: what every inbox partition starts with. */
const INBOX_ROOT = INBOX_PREFIXES[0]!.slice(0, INBOX_PREFIXES[0]!.indexOf('#') + 1);

const str = (v: AttributeValue | undefined) => (v && 'S' in v ? v.S : undefined);
const num = (v: AttributeValue | undefined) => (v && 'N' in v && v.N !== undefined ? Number(v.N) : undefined);

export interface TableReaderOptions {
  endpoint: string;
  tableName: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
}

/**
 * Reads conversations and waiting messages from the relay table (a bounded Scan: the inspector is
 * no message path), through the handlers' key helpers.
 */
export function createTableReader(options: TableReaderOptions) {
  const client = new DynamoDBClient({
    endpoint: options.endpoint,
    region: options.region,
    credentials: options.credentials,
    customUserAgent: INSPECTOR_USER_AGENT,
    maxAttempts: 1,
  });
  const names = Object.fromEntries(PROJECTED.map((name, i) => [`#a${i}`, name]));

  async function read(now = Date.now()): Promise<TableView> {
    const conversations: ConversationRow[] = [];
    const waiting = new Map<string, WaitingRow>();
    let startKey: Record<string, AttributeValue> | undefined;
    let items = 0;
    let truncated = false;
    do {
      const page = await client.send(
        new ScanCommand({
          TableName: options.tableName,
          ProjectionExpression: Object.keys(names).join(', '),
          // Connection items stay in the store: the gateway knows the live connections.
          FilterExpression: 'attribute_exists(#a2) OR begins_with(#a0, :inbox)',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: { ':inbox': { S: INBOX_ROOT } },
          Limit: PAGE,
          ExclusiveStartKey: startKey,
        }),
      );
      items += page.ScannedCount ?? 0;
      for (const item of page.Items ?? []) {
        const pk = str(item.pk) ?? '';
        const sk = str(item.sk) ?? '';
        const expiresAt = (num(item.expiresAt) ?? 0) * 1000;
        // TTL deletes late: an expired item is as good as gone.
        if (expiresAt && expiresAt <= now) continue;
        const cli = str(item.cliId);
        const mpc = str(item.mpcId);
        if (cli && mpc && (pk.startsWith(MAPPING_PREFIX) || !pk.startsWith(INBOX_ROOT))) {
          // A conversation item names its key; the latest mapping (sk MAP) names none.
          const conversation =
            sk === KEY.mappingSort
              ? undefined
              : (str(item.key) ??
                str(item.conversationKey) ??
                str(item.transactionId) ??
                str(item.sessionId));
          const teamId = str(item.teamId);
          const updatedAt = num(item.updatedAt);
          conversations.push({
            cli,
            mpc,
            key: sk ? `${pk} / ${sk}` : pk,
            ...(conversation ? { conversation } : {}),
            ...(teamId ? { teamId } : {}),
            ...(updatedAt ? { updatedAt } : {}),
            expiresAt,
          });
          continue;
        }
        const prefix = INBOX_PREFIXES.find((p) => pk.startsWith(p));
        // Only messages (sk MSG#...): markers (what remains of a delivered v2 message, for dedupe)
        // have doneAt, and other items of the partition (a counter) are no message.
        if (!prefix || !sk.startsWith(KEY.inboxPrefix) || num(item.doneAt) !== undefined) continue;
        const peer = `${prefix.slice(INBOX_ROOT.length, -1)}:${pk.slice(prefix.length)}`;
        const storedAt = num(item.storedAt) ?? now;
        const row = waiting.get(peer) ?? {
          peer,
          count: 0,
          bytes: 0,
          oldestAt: storedAt,
          nextExpiryAt: expiresAt,
          operationTypes: [],
        };
        row.count++;
        row.bytes += num(item.size) ?? 0;
        row.oldestAt = Math.min(row.oldestAt, storedAt);
        if (expiresAt)
          row.nextExpiryAt = row.nextExpiryAt ? Math.min(row.nextExpiryAt, expiresAt) : expiresAt;
        const op = str(item.operationType);
        if (op && !row.operationTypes.includes(op) && row.operationTypes.length < 10)
          row.operationTypes.push(op);
        waiting.set(peer, row);
      }
      startKey = page.LastEvaluatedKey;
      if (startKey && items >= MAX_ITEMS) {
        truncated = true;
        break;
      }
    } while (startKey);
    conversations.sort((a, b) => (b.updatedAt ?? 0) - (a.updatedAt ?? 0));
    return {
      conversations: conversations.slice(0, LIMITS.conversationRows),
      waiting: [...waiting.values()].sort((a, b) => a.oldestAt - b.oldestAt).slice(0, LIMITS.waitingRows),
      readAt: now,
      ...(truncated || conversations.length > LIMITS.conversationRows ? { truncated: true } : {}),
    };
  }

  return { read, close: () => client.destroy() };
}
