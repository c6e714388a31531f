/**
 * The stack program (`main: infra/dist/program.js` in Pulumi.yaml): this repository's stacks are
 * one relay each, configured by `mpc-relay:*` stack keys. A thin user of the component: read and
 * validate the stack configuration, build the relay, export its outputs (infra/README.md).
 */
import * as pulumi from '@pulumi/pulumi';
import { loadRelayConfig, toRelayArgs } from './config.js';
import { RelayComponent } from './relay.js';

const relay = new RelayComponent(`mpc-relay-${pulumi.getStack()}`, toRelayArgs(loadRelayConfig()));

export const url = relay.url;
export const customDomainUrl = relay.customDomainUrl;
export const customDomainTarget = relay.customDomainTarget;
export const managementEndpoint = relay.managementEndpoint;
export const apiId = relay.apiId;
export const stageName = relay.stageName;
export const tableName = relay.tableName;
export const functionNames = relay.functionNames;
export const broadcastFunctionName = relay.broadcastFunctionName;
export const alarmTopicArn = relay.alarmTopicArn;
export const jwtSecretParameterName = relay.jwtSecretParameterName;
