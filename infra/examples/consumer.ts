/**
 * Another team's Pulumi program that deploys the relay next to its own resources (infra/README.md,
 * "Use the component in your own program"). Its stack config: `jwksUrl`, `issuer`, `domain`,
 * `pagerWebhook`.
 */
import { RelayComponent } from '@mpc-relay/infra';
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';

const config = new pulumi.Config();
const domain = config.require('domain');

// The team's own resources, whose outputs feed the relay's arguments.
const certificate = new aws.acm.Certificate('relay-certificate', {
  domainName: domain,
  validationMethod: 'DNS',
});

const relay = new RelayComponent(`signing-relay-${pulumi.getStack()}`, {
  production: true,
  authMode: 'jwt',
  jwt: { jwksUrl: config.require('jwksUrl'), issuer: config.require('issuer'), audience: 'signing-relay' },
  memoryMb: 512,
  inboxTtlSeconds: 600,
  accessLogs: true,
  apiGatewayCloudWatchRole: 'existing',
  alarmThresholds: { errorRatePercent: 2 },
  domainName: domain,
  certificateArn: certificate.arn,
  tags: { team: 'payments' },
});

// The relay's alarms page the team's on-call tool.
if (relay.alarmTopicArn !== undefined) {
  new aws.sns.TopicSubscription('relay-alarms-pager', {
    topic: relay.alarmTopicArn,
    protocol: 'https',
    endpoint: config.require('pagerWebhook'),
  });
}

export const relayUrl = relay.url;
export const relayDomainUrl = relay.customDomainUrl;
export const broadcastFunction = relay.broadcastFunctionName;
