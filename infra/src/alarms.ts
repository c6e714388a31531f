import type { HandlerName } from '@mpc-relay/handlers/routes';
import * as aws from '@pulumi/aws';
import type * as pulumi from '@pulumi/pulumi';
import type { RelayConfig } from './config.js';
import { BY_TYPE_INDEX } from './iam.js';

export interface AlarmsArgs {
  prefix: string;
  config: RelayConfig;
  functionNames: Record<HandlerName, pulumi.Input<string>>;
  apiId: pulumi.Input<string>;
  stageName: pulumi.Input<string>;
  tableName: pulumi.Input<string>;
  tags: Record<string, string>;
}

export interface Alarms {
  topic: aws.sns.Topic;
  alarms: aws.cloudwatch.MetricAlarm[];
}

interface AlarmSpec {
  name: string;
  description: string;
  namespace: string;
  metricName: string;
  dimensions: Record<string, pulumi.Input<string>>;
}

/**
 * Any occurrence over 5 minutes alarms (Sum >= 1): the relay carries signing traffic, where an
 * error is a failed signature. Missing data (no traffic) is healthy.
 */
export function createAlarms(args: AlarmsArgs, opts: pulumi.CustomResourceOptions): Alarms {
  const { config } = args;
  const topic = new aws.sns.Topic(
    `${args.prefix}-alarms`,
    { displayName: `mpc-relay ${config.stack} alarms`, tags: args.tags },
    opts,
  );
  if (config.alarmEmail !== undefined) {
    new aws.sns.TopicSubscription(
      `${args.prefix}-alarms-email`,
      { topic: topic.arn, protocol: 'email', endpoint: config.alarmEmail },
      opts,
    );
  }

  const specs: AlarmSpec[] = [];
  for (const [handler, functionName] of Object.entries(args.functionNames)) {
    for (const metricName of ['Errors', 'Throttles']) {
      specs.push({
        name: `${handler}-${metricName.toLowerCase()}`,
        description: `Lambda ${metricName} on the ${handler} function`,
        namespace: 'AWS/Lambda',
        metricName,
        dimensions: { FunctionName: functionName },
      });
    }
  }
  // WebSocket APIs have no 4XX/5XXError metrics: IntegrationError (handler answered 4xx/5xx or
  // failed) and ExecutionError (API Gateway could not call it) are the server-side failures.
  for (const metricName of ['IntegrationError', 'ExecutionError']) {
    specs.push({
      name: `api-${metricName.toLowerCase()}`,
      description: `API Gateway ${metricName} on stage ${config.stageName}`,
      namespace: 'AWS/ApiGateway',
      metricName,
      dimensions: { ApiId: args.apiId, Stage: args.stageName },
    });
  }
  // ThrottledRequests needs an Operation dimension; the per-table throttle events do not.
  for (const metricName of ['ReadThrottleEvents', 'WriteThrottleEvents']) {
    specs.push({
      name: `table-${metricName.toLowerCase()}`,
      description: `DynamoDB ${metricName} on the relay table`,
      namespace: 'AWS/DynamoDB',
      metricName,
      dimensions: { TableName: args.tableName },
    });
    specs.push({
      name: `index-${metricName.toLowerCase()}`,
      description: `DynamoDB ${metricName} on the ${BY_TYPE_INDEX} index`,
      namespace: 'AWS/DynamoDB',
      metricName,
      dimensions: { TableName: args.tableName, GlobalSecondaryIndexName: BY_TYPE_INDEX },
    });
  }

  const alarms = specs.map(
    (spec) =>
      new aws.cloudwatch.MetricAlarm(
        `${args.prefix}-alarm-${spec.name}`,
        {
          alarmDescription: `mpc-relay ${config.stack}: ${spec.description}`,
          namespace: spec.namespace,
          metricName: spec.metricName,
          dimensions: spec.dimensions,
          statistic: 'Sum',
          period: 300,
          evaluationPeriods: 1,
          threshold: 1,
          comparisonOperator: 'GreaterThanOrEqualToThreshold',
          treatMissingData: 'notBreaching',
          alarmActions: [topic.arn],
          okActions: [topic.arn],
          tags: args.tags,
        },
        opts,
      ),
  );
  return { topic, alarms };
}
