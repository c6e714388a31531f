import { onShutdownSignal } from '@mpc-relay/command-line';
import { UserError } from './errors.js';
import { type Relay, type RelayOptions, startRelay } from './relay.js';

const log = (line: string) => process.stdout.write(`${line}\n`);

/** Prints one line on stderr and exits non-zero: a user error never shows a stack trace. */
export function fail(name: string, error: unknown): never {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`${name}: ${error instanceof UserError ? message : `failed to start: ${message}`}\n`);
  process.exit(1);
}

export function banner(relay: Relay, options: RelayOptions, mode: string): string {
  const auth = options.authMode ?? 'static';
  const example = `${relay.url}?type=cli&cliId=cli123`;
  const jwt = auth === 'jwt';
  const dataDirFlag = ` --data-dir '${relay.dataDir}'`;
  const fromFile = relay.credentialsSource === relay.credentialsFile;
  const aws = fromFile
    ? `AWS_SHARED_CREDENTIALS_FILE='${relay.credentialsFile}' AWS_PROFILE=mpc-relay-local aws`
    : 'AWS_ACCESS_KEY_ID=$MPC_RELAY_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY=$MPC_RELAY_SECRET_ACCESS_KEY aws';
  return [
    `mpc-relay local relay (${mode})`,
    `  WebSocket   ${relay.url}`,
    `  Management  ${relay.managementEndpoint}`,
    `  Lambda      ${relay.lambdaEndpoint}`,
    ...(relay.inspectorUrl ? [`  Inspector   ${relay.inspectorUrl}`] : []),
    `  DynamoDB    ${relay.dynamoEndpoint} (table ${relay.tableName})`,
    `  Data        ${relay.dataDir}`,
    `  Keys        ${relay.credentialsSource} (${relay.credentials.accessKeyId}, profile mpc-relay-local; SigV4 on Management, Lambda and DynamoDB, region ${relay.region})`,
    `  Broadcast   ${aws} lambda invoke --endpoint-url ${relay.lambdaEndpoint} --region ${relay.region} --function-name broadcast --cli-binary-format raw-in-base64-out --payload '{"message":"Hello from CLI!"}' out.json`,
    `  Auth        ${auth}${jwt ? ` (HS256 secret: ${relay.jwtSecretSource ?? 'configured'})` : ' (header Authorization: Allow)'}`,
    ...(jwt
      ? [
          `  Token       TOKEN=$(pnpm -s run token --type cli --id cli123 --ttl 1h${dataDirFlag} | tail -n 1)`,
          `  Try         pnpm wscat -c '${example}' -H "Authorization: Bearer $TOKEN"`,
        ]
      : [`  Try         pnpm wscat -c '${example}' -H 'Authorization: Allow'`]),
    'Ready. Ctrl-C stops the relay.',
  ].join('\n');
}

/** Starts the relay for a command, prints its URLs, and stops cleanly on SIGINT / SIGTERM. */
export async function runRelay(
  name: string,
  options: RelayOptions,
  mode: string,
  onStarted?: (relay: Relay) => Promise<() => Promise<void>> | (() => Promise<void>),
): Promise<Relay> {
  let relay: Relay;
  try {
    relay = await startRelay({ inspector: true, ...options, log });
  } catch (error) {
    fail(name, error);
  }
  const stopExtra = onStarted ? await onStarted(relay) : undefined;
  // The handler goes in before the banner: whoever waits for "Ready." may send SIGINT at once, and
  // a SIGINT before the handler exists kills the process instead of stopping it cleanly.
  onShutdownSignal({
    stop: (signal) => {
      log(`${signal}: closing connections and the store...`);
      void (async () => {
        try {
          await stopExtra?.();
          await relay.close();
          log('Stopped.');
          process.exit(0);
        } catch (error) {
          process.stderr.write(
            `${name}: error while stopping: ${error instanceof Error ? error.message : String(error)}\n`,
          );
          process.exit(1);
        }
      })();
    },
    force: (signal) => {
      process.stderr.write(`${name}: second ${signal}, exiting now\n`);
      process.exit(130);
    },
  });
  log(banner(relay, options, mode));
  return relay;
}
