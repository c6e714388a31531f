/**
 * Runs the relay component under `pulumi.runtime.setMocks` and records every resource with
 * realistic ids and ARNs, so ARN-shaped assertions mean something.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { HANDLER_NAMES, type HandlerName } from '@mpc-relay/handlers/routes';
import * as pulumi from '@pulumi/pulumi';
import { loadRelayConfig, toRelayArgs } from '../src/config.js';
import type { PolicyDocument } from '../src/iam.js';
import { RelayComponent } from '../src/relay.js';

export const ACCOUNT = '123456789012';
export const REGION = 'ap-southeast-1';
export const SSM_KEY_ARN = `arn:aws:kms:${REGION}:${ACCOUNT}:key/0f5a3c2e-1b2d-4e6f-8a9b-0c1d2e3f4a5b`;
export const REPO_ROOT = path.resolve(import.meta.dirname, '..', '..');

// biome-ignore lint/suspicious/noExplicitAny: resource inputs and state are untyped in mocks
export type Props = Record<string, any>;

export interface MockResource {
  type: string;
  name: string;
  id: string;
  inputs: Props;
  state: Props;
  /** Resource options as the engine receives them. */
  options: { retainOnDelete: boolean; dependsOn: string[] };
}

export interface Program {
  relay: RelayComponent;
  /** Logical-name prefix of the component's children (`mpc-relay-<stack>`). */
  prefix: string;
  resources: MockResource[];
  calls: string[];
  ofType(type: string): MockResource[];
  one(type: string, name: string): MockResource;
  /** The Lambda function of a handler. */
  fn(handler: HandlerName): MockResource;
  /** The parsed inline policy of a handler's role. */
  policy(handler: HandlerName): PolicyDocument;
  api(): MockResource;
  table(): MockResource;
}

interface RegisterRequest {
  getType(): string;
  getName(): string;
  getRetainondelete(): boolean | undefined;
  getDependenciesList(): string[];
}

interface OutputsRequest {
  getUrn(): string;
  getOutputs(): { toJavaScript(): Props } | undefined;
}

let counter = 0;
function suffix(length = 7): string {
  counter += 1;
  return (counter * 2654435761).toString(16).padStart(length, '0').slice(-length);
}

function mockState(type: string, name: string, inputs: Props): { id: string; state: Props } {
  const physical = (inputs.name as string | undefined) ?? `${name}-${suffix()}`;
  switch (type) {
    case 'aws:apigatewayv2/api:Api': {
      const id = `a${suffix(9)}`;
      return {
        id,
        state: {
          ...inputs,
          name: physical,
          apiEndpoint: `wss://${id}.execute-api.${REGION}.amazonaws.com`,
          executionArn: `arn:aws:execute-api:${REGION}:${ACCOUNT}:${id}`,
          arn: `arn:aws:apigateway:${REGION}::/apis/${id}`,
        },
      };
    }
    case 'aws:lambda/function:Function': {
      const arn = `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${physical}`;
      return {
        id: physical,
        state: {
          ...inputs,
          name: physical,
          arn,
          invokeArn: `arn:aws:apigateway:${REGION}:lambda:path/2015-03-31/functions/${arn}/invocations`,
        },
      };
    }
    case 'aws:dynamodb/table:Table':
      return {
        id: physical,
        state: { ...inputs, name: physical, arn: `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${physical}` },
      };
    case 'aws:iam/role:Role':
      return {
        id: physical,
        state: { ...inputs, name: physical, arn: `arn:aws:iam::${ACCOUNT}:role/${physical}` },
      };
    case 'aws:cloudwatch/logGroup:LogGroup':
      return {
        id: physical,
        state: { ...inputs, name: physical, arn: `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:${physical}` },
      };
    case 'aws:ssm/parameter:Parameter':
      return {
        id: physical,
        state: {
          ...inputs,
          name: physical,
          arn: `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter${physical.startsWith('/') ? '' : '/'}${physical}`,
        },
      };
    case 'aws:sns/topic:Topic':
      return {
        id: physical,
        state: { ...inputs, name: physical, arn: `arn:aws:sns:${REGION}:${ACCOUNT}:${physical}` },
      };
    case 'aws:cloudwatch/metricAlarm:MetricAlarm':
      return {
        id: physical,
        state: {
          ...inputs,
          name: physical,
          arn: `arn:aws:cloudwatch:${REGION}:${ACCOUNT}:alarm:${physical}`,
        },
      };
    case 'aws:acm/certificate:Certificate': {
      const id = `0a1b2c3d-${suffix(4)}-4e5f-8a9b-${suffix(12)}`;
      return { id, state: { ...inputs, arn: `arn:aws:acm:${REGION}:${ACCOUNT}:certificate/${id}` } };
    }
    case 'aws:apigatewayv2/stage:Stage':
      return { id: inputs.name, state: { ...inputs } };
    case 'aws:apigatewayv2/domainName:DomainName':
      return {
        id: inputs.domainName,
        state: {
          ...inputs,
          domainNameConfiguration: {
            ...inputs.domainNameConfiguration,
            targetDomainName: `d-${suffix(10)}.execute-api.${REGION}.amazonaws.com`,
            hostedZoneId: 'ZL327KTPIQFUL',
          },
        },
      };
    default:
      return { id: `${name}-${suffix()}`, state: { ...inputs } };
  }
}

let bundles: string | undefined;
/** A folder with a stub `<handler>/index.mjs` per handler (the tests never run the code). */
export function stubBundles(): string {
  if (bundles !== undefined) return bundles;
  bundles = mkdtempSync(path.join(tmpdir(), 'mpc-relay-stub-bundles-'));
  for (const handler of HANDLER_NAMES) {
    mkdirSync(path.join(bundles, handler));
    writeFileSync(
      path.join(bundles, handler, 'index.mjs'),
      'export const handler = async () => ({ statusCode: 200 });\n',
    );
  }
  return bundles;
}

/** Resolves an output's value (mocks run as `pulumi up`, so every value is known). */
export function resolve<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise((done) => {
    output.apply((value) => {
      done(value);
      return value;
    });
  });
}

/** Installs the mocks and the configuration; returns what the mocks record. */
/** Waits until every pending registration reached the mocks (Pulumi's own RPC queue drain). */
export function settle(): Promise<void> {
  return (pulumi.runtime as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs();
}

export async function installMocks(
  config: Record<string, string>,
  options: { stack?: string; project?: string; secretKeys?: string[] } = {},
): Promise<{ resources: MockResource[]; calls: string[]; outputs: Map<string, Props> }> {
  const resources: MockResource[] = [];
  const calls: string[] = [];
  const outputs = new Map<string, Props>();
  const stack = options.stack ?? 'test';
  const requested = new Map<string, MockResource['options']>();
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        const { id, state } = mockState(args.type, args.name, args.inputs);
        const opts = requested.get(`${args.type}::${args.name}`) ?? { retainOnDelete: false, dependsOn: [] };
        resources.push({ type: args.type, name: args.name, id, inputs: args.inputs, state, options: opts });
        return { id, state };
      },
      call(args) {
        calls.push(args.token);
        switch (args.token) {
          case 'aws:kms/getAlias:getAlias':
            return {
              id: args.inputs.name,
              name: args.inputs.name,
              arn: `arn:aws:kms:${REGION}:${ACCOUNT}:${args.inputs.name}`,
              targetKeyArn: SSM_KEY_ARN,
              targetKeyId: SSM_KEY_ARN.split('/')[1],
              region: REGION,
            };
          case 'aws:index/getRegion:getRegion':
            return {
              id: REGION,
              name: REGION,
              region: REGION,
              endpoint: `ec2.${REGION}.amazonaws.com`,
              description: 'Asia Pacific (Singapore)',
            };
          default:
            throw new Error(`unexpected invoke ${args.token}`);
        }
      },
    },
    options.project ?? 'mpc-relay',
    stack,
    false,
  );
  // The mocks API hides resource options; read them from the registration request itself.
  const monitor = pulumi.runtime.getMonitor() as unknown as {
    registerResource(req: RegisterRequest, callback: unknown): unknown;
    registerResourceOutputs(req: OutputsRequest, callback: unknown): unknown;
  };
  const registerOutputs = monitor.registerResourceOutputs.bind(monitor);
  monitor.registerResourceOutputs = (req, callback) => {
    const urn = req.getUrn();
    outputs.set(urn.slice(urn.lastIndexOf('::') + 2), req.getOutputs()?.toJavaScript() ?? {});
    return registerOutputs(req, callback);
  };
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req, callback) => {
    requested.set(`${req.getType()}::${req.getName()}`, {
      retainOnDelete: req.getRetainondelete() === true,
      // URNs end in `::<logical name>`.
      dependsOn: req.getDependenciesList().map((urn) => urn.slice(urn.lastIndexOf('::') + 2)),
    });
    return register(req, callback);
  };
  pulumi.runtime.setAllConfig(config, options.secretKeys ?? []);
  return { resources, calls, outputs };
}

export async function runProgram(
  config: Record<string, string>,
  options: { stack?: string; secretKeys?: string[] } = {},
): Promise<Program> {
  const stack = options.stack ?? 'test';
  const { resources, calls } = await installMocks(config, options);
  const prefix = `mpc-relay-${stack}`;
  const relay = new RelayComponent(prefix, {
    ...toRelayArgs(loadRelayConfig(stack)),
    bundleDir: stubBundles(),
  });
  await resolve(pulumi.all([relay.url, relay.managementEndpoint, relay.functionNames, relay.tableName]));
  // Wait until every registration (alarms, permissions...) reached the mocks.
  await settle();
  const ofType = (type: string) => resources.filter((r) => r.type === type);
  const one = (type: string, name: string): MockResource => {
    const found = ofType(type).filter((r) => r.name === name);
    if (found.length !== 1) throw new Error(`expected one ${type} named ${name}, found ${found.length}`);
    return found[0]!;
  };
  return {
    relay,
    prefix,
    resources,
    calls,
    ofType,
    one,
    fn: (handler) => one('aws:lambda/function:Function', `${prefix}-${handler}`),
    policy: (handler) =>
      JSON.parse(
        one('aws:iam/rolePolicy:RolePolicy', `${prefix}-${handler}-policy`).inputs.policy,
      ) as PolicyDocument,
    api: () => one('aws:apigatewayv2/api:Api', `${prefix}-api`),
    table: () => one('aws:dynamodb/table:Table', `${prefix}-table`),
  };
}

/** A real-looking identity provider for tests (the stack file's example one is refused). */
export const TEST_IDP = {
  'mpc-relay:jwtJwksUrl': 'https://login.acme-signing.io/.well-known/jwks.json',
  'mpc-relay:jwtIssuer': 'https://login.acme-signing.io/',
};

/** Pulumi.prod.yaml as a team deploys it: the placeholders replaced by their identity provider. */
export function prodConfig(overrides: Record<string, string> = {}): Record<string, string> {
  return { ...readStackConfig('prod'), ...TEST_IDP, ...overrides };
}

/**
 * Reads a stack file (`Pulumi.<stack>.yaml`) into `setAllConfig` form. Stack files hold plain
 * scalar values only (secrets are set with `pulumi config set --secret`), so a strict line
 * reader suffices and rejects anything else.
 */
export function readStackConfig(stack: string): Record<string, string> {
  const file = path.join(REPO_ROOT, `Pulumi.${stack}.yaml`);
  const lines = readFileSync(file, 'utf8').split('\n');
  const config: Record<string, string> = {};
  let inConfig = false;
  for (const [index, line] of lines.entries()) {
    if (line.trim() === '' || line.trimStart().startsWith('#')) continue;
    if (line === 'config:') {
      inConfig = true;
      continue;
    }
    const match = /^ {2}([a-z0-9-]+:[A-Za-z0-9]+): *(.*?)\s*$/.exec(line);
    if (!inConfig || !match) throw new Error(`${file}:${index + 1}: unsupported line: ${line}`);
    let value = match[2]!;
    if (/^(['"]).*\1$/.test(value)) value = value.slice(1, -1);
    if (value === '' || value.startsWith('{') || value.startsWith('[')) {
      throw new Error(`${file}:${index + 1}: only plain scalar values are allowed`);
    }
    config[match[1]!] = value;
  }
  return config;
}
