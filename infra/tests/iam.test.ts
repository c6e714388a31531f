import { FUNCTIONS, HANDLER_NAMES, type HandlerName } from '@mpc-relay/handlers/routes';
import { beforeAll, describe, expect, it } from 'vitest';
import { functionPolicy, indexesFor, type Statement } from '../src/iam.js';
import { type Program, readStackConfig, runProgram } from './harness.js';

const statementsOf = (p: Program, handler: HandlerName) => p.policy(handler).Statement;
const bySid = (statements: Statement[], sid: string) => statements.filter((s) => s.Sid === sid);

describe('least-privilege roles (dev stack)', () => {
  let p: Program;
  let tableArn: string;
  let executionArn: string;
  beforeAll(async () => {
    p = await runProgram(readStackConfig('dev'), { stack: 'dev' });
    tableArn = p.table().state.arn;
    executionArn = p.api().state.executionArn;
  });

  it('every role is assumable by Lambda only and carries exactly one inline policy', () => {
    for (const handler of HANDLER_NAMES) {
      const role = p.one('aws:iam/role:Role', `${p.prefix}-${handler}-role`);
      expect(JSON.parse(role.inputs.assumeRolePolicy)).toEqual({
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'AssumeRole',
            Effect: 'Allow',
            Principal: { Service: 'lambda.amazonaws.com' },
            Action: ['sts:AssumeRole'],
          },
        ],
      });
      const policies = p.ofType('aws:iam/rolePolicy:RolePolicy').filter((rp) => rp.inputs.role === role.id);
      expect(policies).toHaveLength(1);
    }
    expect(p.ofType('aws:iam/rolePolicyAttachment:RolePolicyAttachment')).toHaveLength(0);
  });

  it.each(HANDLER_NAMES)('%s: no wildcard action, no wildcard resource, only Allow', (handler) => {
    for (const statement of statementsOf(p, handler)) {
      expect(statement.Effect).toBe('Allow');
      expect(statement.Action.length).toBeGreaterThan(0);
      expect(statement.Resource.length).toBeGreaterThan(0);
      for (const action of statement.Action) expect(action).toMatch(/^[a-z0-9-]+:[A-Za-z]+$/);
      for (const resource of statement.Resource) {
        expect(resource).toMatch(/^arn:aws:[a-z0-9-]+:/);
        expect(resource).not.toBe('*');
        // A wildcard may only name the streams of its log group or the connections of the stage.
        if (resource.includes('*')) expect(resource).toMatch(/(:log-group:[^*]+:\*|\/@connections\/\*)$/);
      }
    }
  });

  it.each(HANDLER_NAMES)('%s: writes only to its own log group', (handler) => {
    const logGroup = p.one('aws:cloudwatch/logGroup:LogGroup', `${p.prefix}-${handler}-logs`);
    const logs = statementsOf(p, handler).filter((s) => s.Action.some((a) => a.startsWith('logs:')));
    expect(logs).toEqual([
      {
        Sid: 'OwnLogGroup',
        Effect: 'Allow',
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: [logGroup.state.arn, `${logGroup.state.arn}:*`],
      },
    ]);
    expect(logs[0]!.Action).not.toContain('logs:CreateLogGroup');
  });

  it.each(HANDLER_NAMES)(
    '%s: DynamoDB actions are exactly the route table ones, on this table or its index',
    (handler) => {
      const expected = [...FUNCTIONS[handler].permissions.dynamodb].sort();
      const statements = statementsOf(p, handler);
      const granted = statements.flatMap((s) => s.Action.filter((a) => a.startsWith('dynamodb:')));
      expect([...new Set(granted)].sort()).toEqual(expected);
      for (const statement of bySid(statements, 'RelayTable')) expect(statement.Resource).toEqual([tableArn]);
    },
  );

  it.each(HANDLER_NAMES)(
    '%s: Query on the byType index only when it needs the index, and then not on the base table',
    (handler) => {
      const { dynamodb, indexes } = FUNCTIONS[handler].permissions;
      const statements = statementsOf(p, handler);
      const onTable = bySid(statements, 'RelayTable').flatMap((s) => s.Action);
      const onIndex = bySid(statements, 'RelayTableIndexes');
      if (indexes !== undefined && indexes.length > 0) {
        expect(onIndex).toHaveLength(1);
        expect(onIndex[0]!.Action).toEqual(
          dynamodb.filter((a) => a === 'dynamodb:Query' || a === 'dynamodb:Scan'),
        );
        expect(onIndex[0]!.Resource).toEqual(
          indexesFor(FUNCTIONS[handler].permissions).map((i) => `${tableArn}/index/${i}`),
        );
        expect(onTable).not.toContain('dynamodb:Query');
      } else {
        expect(onIndex).toEqual([]);
        expect(onTable.includes('dynamodb:Query')).toBe(dynamodb.includes('dynamodb:Query'));
      }
    },
  );

  it('disconnect and broadcast Query the index only; the inbox readers Query the base table only', () => {
    const indexArn = `${tableArn}/index/byType`;
    const queryResources = (handler: HandlerName) =>
      statementsOf(p, handler)
        .filter((s) => s.Action.includes('dynamodb:Query'))
        .flatMap((s) => s.Resource);
    expect(queryResources('disconnect')).toEqual([indexArn]);
    expect(queryResources('broadcast')).toEqual([indexArn]);
    for (const handler of ['getConnectionId', 'sendServer', 'ping'] as const)
      expect(queryResources(handler)).toEqual([tableArn]);
  });

  it.each(HANDLER_NAMES)('%s: ManageConnections only on the stage and the methods it uses', (handler) => {
    const methods = FUNCTIONS[handler].permissions.manageConnections;
    const statements = statementsOf(p, handler).filter((s) =>
      s.Action.includes('execute-api:ManageConnections'),
    );
    if (methods.length === 0) {
      expect(statements).toEqual([]);
      return;
    }
    expect(statements).toHaveLength(1);
    expect(statements[0]!.Action).toEqual(['execute-api:ManageConnections']);
    expect(statements[0]!.Resource.sort()).toEqual(
      methods.map((m) => `${executionArn}/dev/${m}/@connections/*`).sort(),
    );
    for (const resource of statements[0]!.Resource) {
      expect(resource).toMatch(
        /^arn:aws:execute-api:ap-southeast-1:123456789012:[a-z0-9]+\/dev\/(POST|GET|DELETE)\/@connections\/\*$/,
      );
    }
  });

  it('grants nothing else: statements are logs, table, index, connections', () => {
    for (const handler of HANDLER_NAMES) {
      const sids = statementsOf(p, handler).map((s) => s.Sid);
      for (const sid of sids)
        expect(['OwnLogGroup', 'RelayTable', 'RelayTableIndexes', 'ManageConnections']).toContain(sid);
    }
  });
});

describe('functionPolicy', () => {
  const base = {
    logGroupArn: 'arn:aws:logs:eu-west-1:111122223333:log-group:/g',
    tableArn: 'arn:aws:dynamodb:eu-west-1:111122223333:table/t',
    executionArn: 'arn:aws:execute-api:eu-west-1:111122223333:abc123',
    stageName: 'live',
  };

  it('no index named: Query on the base table; an index named: Query on it alone', () => {
    const table = functionPolicy({
      ...base,
      permissions: { dynamodb: ['dynamodb:Query'], manageConnections: [], indexes: [] },
    });
    expect(table.Statement.map((s) => s.Sid)).toEqual(['OwnLogGroup', 'RelayTable']);
    const index = functionPolicy({
      ...base,
      permissions: {
        dynamodb: ['dynamodb:DeleteItem', 'dynamodb:Query'],
        manageConnections: [],
        indexes: ['byType'],
      },
    });
    expect(index.Statement.slice(1)).toEqual([
      { Sid: 'RelayTable', Effect: 'Allow', Action: ['dynamodb:DeleteItem'], Resource: [base.tableArn] },
      {
        Sid: 'RelayTableIndexes',
        Effect: 'Allow',
        Action: ['dynamodb:Query'],
        Resource: [`${base.tableArn}/index/byType`],
      },
    ]);
  });

  it('scopes GET and DELETE on @connections to the configured stage', () => {
    const doc = functionPolicy({
      ...base,
      permissions: { dynamodb: [], manageConnections: ['DELETE', 'GET'] },
    });
    expect(doc.Statement[1]!.Resource).toEqual([
      'arn:aws:execute-api:eu-west-1:111122223333:abc123/live/DELETE/@connections/*',
      'arn:aws:execute-api:eu-west-1:111122223333:abc123/live/GET/@connections/*',
    ]);
  });
});
