import type { HandlerName } from '@mpc-relay/handlers/routes';
import * as aws from '@pulumi/aws';
import type * as pulumi from '@pulumi/pulumi';
import type { AlarmThresholds, ResolvedRelayArgs } from './args.js';
import { BY_TYPE_INDEX } from './iam.js';
import type { RelayNames } from './names.js';

/** Every alarm looks at 5-minute windows and pages on the first bad one. */
export const ALARM_PERIOD_SECONDS = 300;

/**
 * The authorizer logs ERROR (through the relay's logger, so with `service`) only for failures of
 * the relay's own making: its configuration, the JWKS URL, the SSM secret ("connect denied" with
 * `serverSide`, "authorizer failed"). Refused tokens log INFO, and the `Unauthorized` thrown for a
 * missing token is logged by the Lambda runtime without `service`, so neither is counted.
 */
export function authorizerFailurePattern(serviceName: string): string {
  return `{ $.level = "ERROR" && $.service = "${serviceName}" }`;
}

export interface AlarmsArgs {
  names: RelayNames;
  prefix: string;
  config: ResolvedRelayArgs;
  functionNames: Record<HandlerName, pulumi.Input<string>>;
  /** The authorizer's log group, for the failure metric filter. */
  authorizerLogGroupName: pulumi.Input<string>;
  /** POWERTOOLS_SERVICE_NAME of the handlers (the `service` field of their log lines). */
  serviceName: string;
  apiId: pulumi.Input<string>;
  stageName: pulumi.Input<string>;
  tableName: pulumi.Input<string>;
  tags: Record<string, string>;
}

export interface Alarms {
  topic: aws.sns.Topic;
  alarms: aws.cloudwatch.MetricAlarm[];
  authorizerFailures: aws.cloudwatch.LogMetricFilter;
}

interface MetricRef {
  namespace: pulumi.Input<string>;
  metricName: string;
  dimensions: Record<string, pulumi.Input<string>>;
}

interface RateSpec {
  kind: 'rate';
  name: string;
  description: string;
  /** Numerator ids -> metric, denominator ids -> metric; the expression uses the ids. */
  metrics: Record<string, MetricRef>;
  expression: string;
  threshold: number;
}

interface CountSpec {
  kind: 'count';
  name: string;
  description: string;
  metric: MetricRef;
  threshold: number;
}

/**
 * `100 * failures / requests` while there were at least `minRequests` requests in the window, else 0:
 * a rate, so a busy relay pages on the same share of failures as a quiet one, and a single failed
 * request on an idle relay does not page at 3 am.
 */
export function rateExpression(failures: string, requests: string, minRequests: number): string {
  return `IF(${requests} >= ${minRequests}, 100 * ${failures} / ${requests}, 0)`;
}

/**
 * Alarms that page only on real trouble (thresholds in `config.alarmThresholds`, README "Alarms"):
 * - per message handler: Lambda error rate (the handlers answer bad input with error frames and
 *   400s, so a Lambda error is a crash, a timeout or an unreachable dependency). Not for the
 *   authorizer: it throws `Unauthorized` for every handshake without a token, and Lambda counts that.
 * - the authorizer: a log metric filter of its own failures (configuration, key sources).
 * - per function: throttle rate (throttled invocations are not in Invocations, so over both).
 * - the stage: ExecutionError rate (API Gateway could not call a handler). Not IntegrationError:
 *   `$connect` answering 400 to a bad connect URL counts there.
 * - DynamoDB read/write throttle events on the table and the byType index (a count: there is no
 *   request metric to divide by, and the SDK retries the first ones).
 */
export function createAlarms(args: AlarmsArgs, opts: pulumi.CustomResourceOptions): Alarms {
  const { config, names } = args;
  const thresholds: AlarmThresholds = config.alarmThresholds;
  const topic = new aws.sns.Topic(
    `${args.prefix}-alarms`,
    { name: names.topic(), displayName: `mpc-relay ${config.environment} alarms`, tags: args.tags },
    opts,
  );
  if (config.alarmEmail !== undefined) {
    new aws.sns.TopicSubscription(
      `${args.prefix}-alarms-email`,
      { topic: topic.arn, protocol: 'email', endpoint: config.alarmEmail },
      opts,
    );
  }

  const authorizerNamespace = `MpcRelay/${names.prefix.replace(/[^A-Za-z0-9._#:-]+/g, '-')}`;
  const authorizerFailures = new aws.cloudwatch.LogMetricFilter(
    `${args.prefix}-authorizer-failures`,
    {
      name: names.metricFilter('authorizer-failures'),
      logGroupName: args.authorizerLogGroupName,
      pattern: authorizerFailurePattern(args.serviceName),
      metricTransformation: {
        name: 'AuthorizerFailures',
        namespace: authorizerNamespace,
        value: '1',
        unit: 'Count',
      },
    },
    opts,
  );

  const lambda = (functionName: pulumi.Input<string>, metricName: string): MetricRef => ({
    namespace: 'AWS/Lambda',
    metricName,
    dimensions: { FunctionName: functionName },
  });
  const specs: (RateSpec | CountSpec)[] = [];
  for (const [handler, functionName] of Object.entries(args.functionNames) as [
    HandlerName,
    pulumi.Input<string>,
  ][]) {
    if (handler !== 'authorizer') {
      specs.push({
        kind: 'rate',
        name: `${handler}-error-rate`,
        description: `Lambda error rate of the ${handler} function >= ${thresholds.errorRatePercent}% (at least ${thresholds.minRequests} invocations in 5 min)`,
        metrics: { errors: lambda(functionName, 'Errors'), invocations: lambda(functionName, 'Invocations') },
        expression: rateExpression('errors', 'invocations', thresholds.minRequests),
        threshold: thresholds.errorRatePercent,
      });
    }
    specs.push({
      kind: 'rate',
      name: `${handler}-throttle-rate`,
      description: `Lambda throttle rate of the ${handler} function >= ${thresholds.errorRatePercent}% (at least ${thresholds.minRequests} requests in 5 min)`,
      metrics: {
        throttles: lambda(functionName, 'Throttles'),
        invocations: lambda(functionName, 'Invocations'),
      },
      expression: rateExpression('throttles', '(invocations + throttles)', thresholds.minRequests),
      threshold: thresholds.errorRatePercent,
    });
  }
  specs.push({
    kind: 'count',
    name: 'authorizer-failures',
    description: `authorizer failures of the relay's own making (configuration, JWKS, SSM) >= ${thresholds.authorizerFailures} in 5 min; details in the authorizer's ERROR log lines`,
    metric: { namespace: authorizerNamespace, metricName: 'AuthorizerFailures', dimensions: {} },
    threshold: thresholds.authorizerFailures,
  });
  const api = (metricName: string): MetricRef => ({
    namespace: 'AWS/ApiGateway',
    metricName,
    dimensions: { ApiId: args.apiId, Stage: args.stageName },
  });
  specs.push({
    kind: 'rate',
    name: 'api-execution-error-rate',
    description: `API Gateway ExecutionError rate on stage ${config.stageName} >= ${thresholds.errorRatePercent}% of connects and messages (at least ${thresholds.minRequests} in 5 min)`,
    metrics: {
      executionErrors: api('ExecutionError'),
      connects: api('ConnectCount'),
      messages: api('MessageCount'),
    },
    expression: rateExpression('executionErrors', '(connects + messages)', thresholds.minRequests),
    threshold: thresholds.errorRatePercent,
  });
  for (const metricName of ['ReadThrottleEvents', 'WriteThrottleEvents']) {
    specs.push({
      kind: 'count',
      name: `table-${metricName.toLowerCase()}`,
      description: `DynamoDB ${metricName} on the relay table >= ${thresholds.tableThrottleEvents} in 5 min`,
      metric: { namespace: 'AWS/DynamoDB', metricName, dimensions: { TableName: args.tableName } },
      threshold: thresholds.tableThrottleEvents,
    });
    specs.push({
      kind: 'count',
      name: `index-${metricName.toLowerCase()}`,
      description: `DynamoDB ${metricName} on the ${BY_TYPE_INDEX} index >= ${thresholds.tableThrottleEvents} in 5 min`,
      metric: {
        namespace: 'AWS/DynamoDB',
        metricName,
        dimensions: { TableName: args.tableName, GlobalSecondaryIndexName: BY_TYPE_INDEX },
      },
      threshold: thresholds.tableThrottleEvents,
    });
  }

  const alarms = specs.map((spec) => {
    const common = {
      name: names.alarm(spec.name),
      alarmDescription: `mpc-relay ${config.environment}: ${spec.description}`,
      evaluationPeriods: 1,
      threshold: spec.threshold,
      comparisonOperator: 'GreaterThanOrEqualToThreshold',
      // No traffic is healthy.
      treatMissingData: 'notBreaching',
      alarmActions: [topic.arn],
      okActions: [topic.arn],
      tags: args.tags,
    };
    const inputs: aws.cloudwatch.MetricAlarmArgs =
      spec.kind === 'count'
        ? {
            ...common,
            namespace: spec.metric.namespace,
            metricName: spec.metric.metricName,
            ...(Object.keys(spec.metric.dimensions).length > 0 ? { dimensions: spec.metric.dimensions } : {}),
            statistic: 'Sum',
            period: ALARM_PERIOD_SECONDS,
          }
        : {
            ...common,
            metricQueries: [
              ...Object.entries(spec.metrics).map(([id, metric]) => ({
                id,
                returnData: false,
                metric: { ...metric, stat: 'Sum', period: ALARM_PERIOD_SECONDS },
              })),
              { id: 'rate', expression: spec.expression, label: `${spec.name} (%)`, returnData: true },
            ],
          };
    const dependsOn = spec.name === 'authorizer-failures' ? { dependsOn: [authorizerFailures] } : {};
    return new aws.cloudwatch.MetricAlarm(`${args.prefix}-alarm-${spec.name}`, inputs, {
      ...opts,
      ...dependsOn,
    });
  });
  return { topic, alarms, authorizerFailures };
}
