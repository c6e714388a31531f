import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import type { ResolvedRelayArgs } from './args.js';

export interface CustomDomain {
  domainName: aws.apigatewayv2.DomainName;
  mapping: aws.apigatewayv2.ApiMapping;
  record?: aws.route53.Record;
  /** `wss://DOMAIN` (the mapping has no path: the stage is implied). */
  url: pulumi.Output<string>;
  /** Where a CNAME/alias for the domain must point when Route 53 is not managed here. */
  target: pulumi.Output<string>;
}

export function createCustomDomain(
  prefix: string,
  config: ResolvedRelayArgs,
  api: aws.apigatewayv2.Api,
  stage: aws.apigatewayv2.Stage,
  tags: Record<string, string>,
  opts: pulumi.CustomResourceOptions,
): CustomDomain | undefined {
  const domain = config.domain;
  if (domain === undefined) return undefined;
  const domainName = new aws.apigatewayv2.DomainName(
    `${prefix}-domain`,
    {
      domainName: domain.name,
      domainNameConfiguration: {
        certificateArn: domain.certificateArn,
        endpointType: 'REGIONAL',
        securityPolicy: 'TLS_1_2',
      },
      tags,
    },
    opts,
  );
  const mapping = new aws.apigatewayv2.ApiMapping(
    `${prefix}-domain-mapping`,
    { apiId: api.id, domainName: domainName.id, stage: stage.id },
    opts,
  );
  const record =
    domain.hostedZoneId !== undefined
      ? new aws.route53.Record(
          `${prefix}-domain-record`,
          {
            zoneId: domain.hostedZoneId,
            name: domain.name,
            type: 'A',
            aliases: [
              {
                name: domainName.domainNameConfiguration.targetDomainName,
                zoneId: domainName.domainNameConfiguration.hostedZoneId,
                evaluateTargetHealth: false,
              },
            ],
          },
          opts,
        )
      : undefined;
  return {
    domainName,
    mapping,
    ...(record !== undefined ? { record } : {}),
    url: pulumi.interpolate`wss://${domainName.domainName}`,
    target: domainName.domainNameConfiguration.targetDomainName,
  };
}
