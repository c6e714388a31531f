/**
 * IAM policy documents as plain data, so tests can read exactly what each role may do.
 * Every statement names concrete resources of this stack: no `*` action, no `*` resource.
 */
import type { HandlerPermissions } from '@mpc-relay/handlers/routes';
import { TABLE_SCHEMA } from '@mpc-relay/handlers/table-schema';

export interface Statement {
  Sid: string;
  Effect: 'Allow';
  Action: string[];
  Resource: string[];
  Condition?: Record<string, Record<string, string>>;
}

export interface PolicyDocument {
  Version: '2012-10-17';
  Statement: Statement[];
}

/** The table's only GSI (connections by peer type, for broadcast). */
export const BY_TYPE_INDEX: string = TABLE_SCHEMA.globalSecondaryIndexes[0].name;

/** DynamoDB actions that can target an index. */
const INDEX_ACTIONS = new Set(['dynamodb:Query', 'dynamodb:Scan']);

/**
 * Indexes a handler reads, as the route table names them (`indexes`). A handler that names indexes
 * Queries (or Scans) only those: its Query/Scan is granted on the indexes and not on the base
 * table. A handler that names none Queries the base table only.
 */
export function indexesFor(permissions: HandlerPermissions): readonly string[] {
  return permissions.indexes ?? [];
}

export interface TrustPolicy {
  Version: '2012-10-17';
  Statement: { Sid: string; Effect: 'Allow'; Principal: { Service: string }; Action: string[] }[];
}

export function assumeRolePolicy(service: string): TrustPolicy {
  return {
    Version: '2012-10-17',
    Statement: [
      { Sid: 'AssumeRole', Effect: 'Allow', Principal: { Service: service }, Action: ['sts:AssumeRole'] },
    ],
  };
}

export interface SecretAccess {
  parameterArn: string;
  /** The KMS key that encrypts the parameter (the account's `aws/ssm` key). */
  kmsKeyArn: string;
  region: string;
}

export interface FunctionPolicyInput {
  logGroupArn: string;
  tableArn: string;
  /** `arn:aws:execute-api:REGION:ACCOUNT:API_ID` */
  executionArn: string;
  stageName: string;
  permissions: HandlerPermissions;
  secret?: SecretAccess;
}

/** The inline policy of one function's role: exactly what its route-table entry asks for. */
export function functionPolicy(input: FunctionPolicyInput): PolicyDocument {
  const { permissions } = input;
  const statements: Statement[] = [
    {
      Sid: 'OwnLogGroup',
      Effect: 'Allow',
      Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      Resource: [input.logGroupArn, `${input.logGroupArn}:*`],
    },
  ];
  const dynamodb = [...new Set(permissions.dynamodb)].sort();
  if (dynamodb.length > 0) {
    const indexes = indexesFor(permissions);
    const indexActions = indexes.length > 0 ? dynamodb.filter((action) => INDEX_ACTIONS.has(action)) : [];
    const tableActions = dynamodb.filter((action) => !indexActions.includes(action));
    if (tableActions.length > 0) {
      statements.push({
        Sid: 'RelayTable',
        Effect: 'Allow',
        Action: tableActions,
        Resource: [input.tableArn],
      });
    }
    if (indexActions.length > 0) {
      statements.push({
        Sid: 'RelayTableIndexes',
        Effect: 'Allow',
        Action: indexActions,
        Resource: indexes.map((name) => `${input.tableArn}/index/${name}`),
      });
    }
  }
  const methods = [...new Set(permissions.manageConnections)].sort();
  if (methods.length > 0) {
    statements.push({
      Sid: 'ManageConnections',
      Effect: 'Allow',
      Action: ['execute-api:ManageConnections'],
      Resource: methods.map((method) => `${input.executionArn}/${input.stageName}/${method}/@connections/*`),
    });
  }
  if (input.secret !== undefined) {
    statements.push(
      {
        Sid: 'JwtSecretParameter',
        Effect: 'Allow',
        Action: ['ssm:GetParameter'],
        Resource: [input.secret.parameterArn],
      },
      {
        Sid: 'JwtSecretDecrypt',
        Effect: 'Allow',
        Action: ['kms:Decrypt'],
        Resource: [input.secret.kmsKeyArn],
        Condition: {
          StringEquals: {
            'kms:ViaService': `ssm.${input.secret.region}.amazonaws.com`,
            'kms:EncryptionContext:PARAMETER_ARN': input.secret.parameterArn,
          },
        },
      },
    );
  }
  return { Version: '2012-10-17', Statement: statements };
}
