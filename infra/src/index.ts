/**
 * The Pulumi program (`main: infra/` in Pulumi.yaml runs dist/index.js): one relay per stack.
 * Stack outputs are what operators and clients need; see infra/README.md.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { HANDLER_NAMES } from '@mpc-relay/handlers/routes';
import * as pulumi from '@pulumi/pulumi';
import { loadRelayConfig } from './config.js';
import { RelayComponent } from './relay.js';

const handlersPackage = createRequire(import.meta.url).resolve('@mpc-relay/handlers/package.json');
const bundleDir = path.join(path.dirname(handlersPackage), 'dist');
const missing = HANDLER_NAMES.filter((handler) => !existsSync(path.join(bundleDir, handler, 'index.mjs')));
if (missing.length > 0) {
  throw new Error(
    `Handler bundles missing in ${bundleDir} (${missing.join(', ')}): run \`pnpm turbo run build --filter=@mpc-relay/infra...\` first`,
  );
}

const relay = new RelayComponent(`mpc-relay-${pulumi.getStack()}`, { config: loadRelayConfig(), bundleDir });

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
