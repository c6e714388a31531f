import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type {
  BatchWriteCommand,
  BatchWriteCommandOutput,
  DeleteCommand,
  DeleteCommandOutput,
  GetCommand,
  GetCommandOutput,
  PutCommand,
  PutCommandOutput,
  QueryCommand,
  QueryCommandOutput,
  UpdateCommand,
  UpdateCommandOutput,
} from '@aws-sdk/lib-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';

/**
 * The store functions' view of DynamoDB: the document commands of `@aws-sdk/lib-dynamodb`
 * (JavaScript values in and out), sent through a plain `DynamoDBClient`.
 */
export interface DocumentStore {
  send(command: PutCommand): Promise<PutCommandOutput>;
  send(command: GetCommand): Promise<GetCommandOutput>;
  send(command: DeleteCommand): Promise<DeleteCommandOutput>;
  send(command: UpdateCommand): Promise<UpdateCommandOutput>;
  send(command: QueryCommand): Promise<QueryCommandOutput>;
  send(command: BatchWriteCommand): Promise<BatchWriteCommandOutput>;
  /** The underlying client (its config, middleware stack, `destroy`). */
  readonly client: DynamoDBClient;
}

/**
 * What a lib-dynamodb command carries: its input, the fields the document client converts
 * (`inputKeyNodes`) and the low-level command it wraps (`clientCommand`, built in its constructor).
 */
interface DocumentCommandParts {
  input: Record<string, unknown>;
  inputKeyNodes: Record<string, unknown>;
  clientCommand: object;
}

/** Input fields holding an attribute-value map; output fields holding an item, or a list of items. */
const MAP_INPUTS = new Set(['Item', 'Key', 'ExpressionAttributeValues', 'ExclusiveStartKey']);
const MAP_OUTPUTS = ['Item', 'Attributes', 'LastEvaluatedKey'] as const;

const toItem = (map: never): object => marshall(map, { removeUndefinedValues: true });
const fromItem = (item: never): object => unmarshall(item);

/**
 * Why not `DynamoDBDocumentClient`: it refuses `cacheMiddleware`, so every request would resolve
 * the whole middleware stack again (with the stack cached, about a quarter less of the SDK's
 * client-side CPU per request, on every Lambda invocation). The conversion is the document
 * client's own (`@aws-sdk/util-dynamodb`, `removeUndefinedValues`), on the fields of the
 * expression API; a field the document client would convert and this does not (the legacy
 * `Expected`, `KeyConditions`..., BatchGet's keys) is refused, never sent unconverted.
 */
export function documentStore(client: DynamoDBClient): DocumentStore {
  const send = async (command: DocumentCommandParts): Promise<unknown> => {
    const input: Record<string, unknown> = { ...command.input };
    for (const field of Object.keys(command.inputKeyNodes)) {
      const value = input[field];
      if (value === undefined) continue;
      if (MAP_INPUTS.has(field)) input[field] = toItem(value as never);
      else if (field === 'RequestItems' && isWriteRequests(value))
        input[field] = writeRequests(value, toItem);
      else throw new Error(`${field} is not supported by the document store: use an expression`);
    }
    if (input.ReturnItemCollectionMetrics !== undefined && input.ReturnItemCollectionMetrics !== 'NONE') {
      throw new Error('ReturnItemCollectionMetrics is not supported by the document store');
    }
    // The low-level command class the document command wraps (PutCommand: PutItemCommand, ...).
    const ItemCommand = command.clientCommand.constructor as new (input: unknown) => never;
    const output = (await client.send(new ItemCommand(input))) as unknown as Record<string, unknown>;
    for (const field of MAP_OUTPUTS) {
      const value = output[field];
      if (value !== undefined) output[field] = fromItem(value as never);
    }
    if (Array.isArray(output.Items)) output.Items = output.Items.map((item) => fromItem(item as never));
    if (isWriteRequests(output.UnprocessedItems)) {
      output.UnprocessedItems = writeRequests(output.UnprocessedItems, fromItem);
    }
    return output;
  };
  return { send: send as unknown as DocumentStore['send'], client };
}

type WriteRequests = Record<string, Record<string, { Item?: never; Key?: never } | undefined>[]>;

/** BatchWrite's `{table: [{PutRequest: {Item}} | {DeleteRequest: {Key}}]}` (BatchGet's are not lists). */
function isWriteRequests(value: unknown): value is WriteRequests {
  return typeof value === 'object' && value !== null && Object.values(value).every(Array.isArray);
}

function writeRequests(byTable: WriteRequests, convert: (map: never) => object): WriteRequests {
  const converted: WriteRequests = {};
  for (const [table, requests] of Object.entries(byTable)) {
    converted[table] = requests.map(({ PutRequest, DeleteRequest, ...rest }) => ({
      ...rest,
      ...(PutRequest?.Item ? { PutRequest: { ...PutRequest, Item: convert(PutRequest.Item) as never } } : {}),
      ...(DeleteRequest?.Key
        ? { DeleteRequest: { ...DeleteRequest, Key: convert(DeleteRequest.Key) as never } }
        : {}),
    }));
  }
  return converted;
}
