/**
 * The Pulumi program (`main: infra/` in Pulumi.yaml runs dist/index.js): one relay per stack.
 * Stack outputs are what operators and clients need; see infra/README.md.
 */
import * as pulumi from '@pulumi/pulumi';
import { assertBundles, bundleDirectory } from './bundles.js';
import { loadRelayConfig } from './config.js';
import { RelayComponent } from './relay.js';

const config = loadRelayConfig();
const bundleDir = bundleDirectory();
assertBundles(bundleDir);

const relay = new RelayComponent(`mpc-relay-${pulumi.getStack()}`, { config, bundleDir });

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
