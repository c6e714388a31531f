import { HANDLER_NAMES } from '@mpc-relay/handlers/routes';
import { beforeAll, describe, expect, it } from 'vitest';
import { authorizerFailurePattern, rateExpression } from '../src/alarms.js';
import { type MockResource, type Program, prodConfig, resolve, runProgram } from './harness.js';

const ALARM = 'aws:cloudwatch/metricAlarm:MetricAlarm';
const FILTER = 'aws:cloudwatch/logMetricFilter:LogMetricFilter';

/** A metric of a metric-math alarm by query id. */
function query(alarm: MockResource, id: string) {
  return (
    alarm.inputs.metricQueries as { id: string; metric?: Record<string, unknown>; expression?: string }[]
  ).find((q) => q.id === id);
}

describe('alarms that page only on real trouble (prod example)', () => {
  let prod: Program;
  let alarms: MockResource[];
  let topicArn: string;
  const alarm = (name: string) => prod.one(ALARM, `${prod.prefix}-alarm-${name}`);
  beforeAll(async () => {
    prod = await runProgram(prodConfig(), { stack: 'prod' });
    alarms = prod.ofType(ALARM);
    topicArn = prod.ofType('aws:sns/topic:Topic')[0]!.state.arn;
  });

  it('every alarm notifies the one topic on alarm and on recovery; no traffic is healthy', async () => {
    expect(await resolve(prod.relay.alarmTopicArn!)).toBe(topicArn);
    for (const a of alarms) {
      expect(a.inputs).toMatchObject({
        alarmActions: [topicArn],
        okActions: [topicArn],
        comparisonOperator: 'GreaterThanOrEqualToThreshold',
        treatMissingData: 'notBreaching',
        evaluationPeriods: 1,
      });
    }
    // per function a throttle rate, per message handler an error rate, the authorizer's own
    // failures, the API execution error rate, 4 DynamoDB throttle counts.
    expect(alarms).toHaveLength(HANDLER_NAMES.length * 2 - 1 + 1 + 1 + 4);
  });

  it('message handlers: Lambda error RATE over 5 minutes, with a minimum of invocations', () => {
    for (const handler of HANDLER_NAMES.filter((h) => h !== 'authorizer')) {
      const a = alarm(`${handler}-error-rate`);
      expect(a.inputs.threshold).toBe(5);
      expect(a.inputs.metricName).toBeUndefined();
      const fnName = prod.fn(handler).state.name;
      for (const [id, metricName] of <[string, string][]>[
        ['errors', 'Errors'],
        ['invocations', 'Invocations'],
      ]) {
        expect(query(a, id)).toEqual({
          id,
          returnData: false,
          metric: {
            namespace: 'AWS/Lambda',
            metricName,
            dimensions: { FunctionName: fnName },
            stat: 'Sum',
            period: 300,
          },
        });
      }
      expect(query(a, 'rate')).toMatchObject({
        expression: 'IF(invocations >= 20, 100 * errors / invocations, 0)',
        returnData: true,
      });
    }
  });

  it("the authorizer's Lambda Errors page nobody: every token-less handshake is one", () => {
    expect(prod.ofType(ALARM).map((a) => a.name)).not.toContain(`${prod.prefix}-alarm-authorizer-error-rate`);
    for (const a of alarms) {
      const metrics = (a.inputs.metricQueries ?? []).map(
        (q: { metric?: { metricName: string; dimensions: Record<string, string> } }) => q.metric,
      );
      for (const metric of metrics) {
        if (metric?.metricName === 'Errors')
          expect(metric.dimensions.FunctionName).not.toBe(prod.fn('authorizer').state.name);
      }
    }
  });

  it("authorizer failures of the relay's own making: a metric filter on its log group, Sum >= 1", () => {
    const filter = prod.one(FILTER, `${prod.prefix}-authorizer-failures`);
    expect(filter.inputs).toMatchObject({
      logGroupName: prod.one('aws:cloudwatch/logGroup:LogGroup', `${prod.prefix}-authorizer-logs`).state.name,
      pattern: '{ $.level = "ERROR" && $.service = "mpc-relay" }',
      metricTransformation: {
        name: 'AuthorizerFailures',
        namespace: 'MpcRelay/mpc-relay-prod',
        value: '1',
        unit: 'Count',
      },
    });
    const a = alarm('authorizer-failures');
    expect(a.inputs).toMatchObject({
      namespace: 'MpcRelay/mpc-relay-prod',
      metricName: 'AuthorizerFailures',
      statistic: 'Sum',
      period: 300,
      threshold: 1,
    });
    expect(a.options.dependsOn).toContain(filter.name);
  });

  it('throttle rates on every function, over invocations plus throttles', () => {
    for (const handler of HANDLER_NAMES) {
      const a = alarm(`${handler}-throttle-rate`);
      expect(query(a, 'throttles')!.metric).toMatchObject({
        metricName: 'Throttles',
        dimensions: { FunctionName: prod.fn(handler).state.name },
      });
      expect(query(a, 'rate')!.expression).toBe(
        'IF((invocations + throttles) >= 20, 100 * throttles / (invocations + throttles), 0)',
      );
    }
  });

  it('the stage: ExecutionError rate over connects and messages; IntegrationError (a 400 from $connect) pages nobody', () => {
    const a = alarm('api-execution-error-rate');
    for (const [id, metricName] of <[string, string][]>[
      ['executionErrors', 'ExecutionError'],
      ['connects', 'ConnectCount'],
      ['messages', 'MessageCount'],
    ]) {
      expect(query(a, id)!.metric).toEqual({
        namespace: 'AWS/ApiGateway',
        metricName,
        dimensions: { ApiId: prod.api().id, Stage: 'production' },
        stat: 'Sum',
        period: 300,
      });
    }
    const usesIntegrationError = alarms.some(
      (x) =>
        x.inputs.metricName === 'IntegrationError' ||
        (x.inputs.metricQueries ?? []).some(
          (q: { metric?: { metricName: string } }) => q.metric?.metricName === 'IntegrationError',
        ),
    );
    expect(usesIntegrationError).toBe(false);
  });

  it('DynamoDB throttles on the table and the byType index, a documented count', () => {
    for (const metricName of ['ReadThrottleEvents', 'WriteThrottleEvents']) {
      const dims = alarms.filter((a) => a.inputs.metricName === metricName).map((a) => a.inputs.dimensions);
      expect(dims).toEqual([
        { TableName: prod.table().state.name },
        { TableName: prod.table().state.name, GlobalSecondaryIndexName: 'byType' },
      ]);
      for (const a of alarms.filter((x) => x.inputs.metricName === metricName))
        expect(a.inputs.threshold).toBe(25);
    }
  });

  it('thresholds are per stack configuration', async () => {
    const p = await runProgram(
      prodConfig({
        'mpc-relay:alarmErrorRatePercent': '2.5',
        'mpc-relay:alarmMinRequests': '100',
        'mpc-relay:alarmAuthorizerFailures': '3',
        'mpc-relay:alarmTableThrottleEvents': '50',
      }),
      { stack: 'prod' },
    );
    const a = p.one(ALARM, `${p.prefix}-alarm-sendServer-error-rate`);
    expect(a.inputs.threshold).toBe(2.5);
    expect(query(a, 'rate')!.expression).toBe('IF(invocations >= 100, 100 * errors / invocations, 0)');
    expect(p.one(ALARM, `${p.prefix}-alarm-authorizer-failures`).inputs.threshold).toBe(3);
    expect(p.one(ALARM, `${p.prefix}-alarm-table-readthrottleevents`).inputs.threshold).toBe(50);
    await expect(
      runProgram(prodConfig({ 'mpc-relay:alarmErrorRatePercent': '150' }), { stack: 'prod' }),
    ).rejects.toThrow(/mpc-relay:alarmErrorRatePercent: expected a number above 0 and at most 100/);
  });
});

describe('alarm building blocks', () => {
  it('the rate expression guards against quiet periods and division by zero', () => {
    expect(rateExpression('e', 'n', 10)).toBe('IF(n >= 10, 100 * e / n, 0)');
  });

  it("the failure pattern matches the relay's ERROR lines only, as CloudWatch would", () => {
    // A small evaluator of the pattern's two equality terms, over the log lines the authorizer writes.
    const pattern = authorizerFailurePattern('mpc-relay');
    const terms = [...pattern.matchAll(/\$\.(\w+) = "([^"]+)"/g)].map((m) => [m[1]!, m[2]!] as const);
    expect(terms).toEqual([
      ['level', 'ERROR'],
      ['service', 'mpc-relay'],
    ]);
    const matches = (line: Record<string, unknown>) => terms.every(([key, value]) => line[key] === value);
    // Powertools lines of the relay's logger:
    expect(
      matches({ level: 'ERROR', service: 'mpc-relay', message: 'connect denied', serverSide: true }),
    ).toBe(true);
    expect(matches({ level: 'ERROR', service: 'mpc-relay', message: 'authorizer failed' })).toBe(true);
    expect(
      matches({ level: 'INFO', service: 'mpc-relay', message: 'connect denied', reason: 'bad signature' }),
    ).toBe(false);
    expect(matches({ level: 'INFO', service: 'mpc-relay', message: 'connect unauthorized' })).toBe(false);
    // The Lambda runtime's line for the thrown Unauthorized (JSON log format) has no service:
    expect(
      matches({ level: 'ERROR', message: 'Invoke Error', errorType: 'Error', errorMessage: 'Unauthorized' }),
    ).toBe(false);
  });
});
