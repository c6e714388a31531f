import { normalizeArgv } from '@mpc-relay/command-line';
import { Command, InvalidArgumentError, Option } from 'commander';
import { DEFAULTS, type RelayOptions } from './relay.js';

function integer(name: string, min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`${name} must be a whole number from ${min} to ${max}`);
    }
    return n;
  };
}

export { normalizeArgv };

/** Parses flags and environment variables (flags win). Exits with one line on stderr on a bad flag. */
export function parseCli(
  argv: readonly string[],
  name = 'mpc-relay',
  description = 'Local mpc-relay',
): RelayOptions {
  const program = new Command(name)
    .description(description)
    .addOption(
      new Option('--port <port>', 'WebSocket + management port (0 = random)')
        .env('PORT')
        .argParser(integer('port', 0, 65535))
        .default(DEFAULTS.port),
    )
    .addOption(new Option('--host <host>', 'interface to listen on').env('HOST').default(DEFAULTS.host))
    .addOption(
      new Option('--stage <stage>', 'API stage (first path segment)').env('STAGE').default(DEFAULTS.stage),
    )
    .addOption(
      new Option(
        '--data-dir <dir>',
        'folder of the embedded DynamoDB (LevelDB), relative to the working directory',
      )
        .env('DATA_DIR')
        .default(DEFAULTS.dataDir),
    )
    .addOption(
      new Option('--auth <mode>', 'authorizer mode')
        .env('AUTH_MODE')
        .choices(['static', 'jwt'])
        .default(DEFAULTS.authMode),
    )
    .addOption(
      new Option('--idle-timeout <ms>', 'idle connection timeout in ms (AWS: 600000)')
        .env('IDLE_TIMEOUT_MS')
        .argParser(integer('idle timeout', 1, 2_147_483_647)),
    )
    .addOption(
      new Option('--max-lifetime <ms>', 'maximum connection lifetime in ms (AWS: 7200000)')
        .env('MAX_LIFETIME_MS')
        .argParser(integer('max lifetime', 1, 2_147_483_647)),
    )
    .addOption(
      new Option(
        '--inbox-max-messages <n>',
        'messages kept waiting per offline peer (0 = no limit; default 1000)',
      )
        .env('INBOX_MAX_MESSAGES')
        .argParser(integer('inbox max messages', 0, Number.MAX_SAFE_INTEGER)),
    )
    .addOption(
      new Option(
        '--inbox-max-bytes <n>',
        'bytes kept waiting per offline peer (0 = no limit; default 8388608)',
      )
        .env('INBOX_MAX_BYTES')
        .argParser(integer('inbox max bytes', 0, Number.MAX_SAFE_INTEGER)),
    )
    .addOption(
      new Option('--max-connections-per-peer <n>', 'live connections per peer id (0 = no limit; default 10)')
        .env('MAX_CONNECTIONS_PER_PEER')
        .argParser(integer('max connections per peer', 0, Number.MAX_SAFE_INTEGER)),
    )
    .addOption(new Option('--no-inspector', 'do not serve the inspector page').env('NO_INSPECTOR'))
    .addOption(
      new Option(
        '--allow-static-on-network',
        'allow a non-loopback --host with static auth (which lets anyone who can reach it connect as any peer)',
      ).env('ALLOW_STATIC_ON_NETWORK'),
    )
    .addOption(
      new Option(
        '--repair',
        "run LevelDB's repair on the data folder's store first and report what it could not keep",
      ),
    )
    .allowExcessArguments(false)
    .showSuggestionAfterError(true)
    .configureOutput({ outputError: (text, write) => write(`${name}: ${text.replace(/^error: /, '')}`) });
  program.parse(normalizeArgv(argv));
  const o = program.opts<{
    port: number;
    host: string;
    stage: string;
    dataDir: string;
    auth: string;
    idleTimeout?: number;
    maxLifetime?: number;
    inboxMaxMessages?: number;
    inboxMaxBytes?: number;
    maxConnectionsPerPeer?: number;
    inspector: boolean;
    allowStaticOnNetwork?: boolean | string;
    repair?: boolean;
  }>();
  // Values from the environment arrive unparsed (commander parses flags only).
  const limit = (name: string, value: number | string | undefined) =>
    typeof value === 'string' ? integer(name, 0, Number.MAX_SAFE_INTEGER)(value) : value;
  const limits = {
    inboxMaxMessages: limit('inbox max messages', o.inboxMaxMessages),
    inboxMaxBytes: limit('inbox max bytes', o.inboxMaxBytes),
    maxConnectionsPerPeer: limit('max connections per peer', o.maxConnectionsPerPeer),
  };
  const given = Object.fromEntries(Object.entries(limits).filter(([, value]) => value !== undefined));
  if (!/^[A-Za-z0-9_-]+$/.test(o.stage)) program.error('stage may only contain letters, digits, "-" and "_"');
  return {
    port: typeof o.port === 'string' ? integer('port', 0, 65535)(o.port) : o.port,
    host: o.host,
    stage: o.stage,
    dataDir: o.dataDir,
    authMode: o.auth,
    inspector: o.inspector,
    ...(o.idleTimeout !== undefined ? { idleTimeoutMs: o.idleTimeout } : {}),
    ...(o.maxLifetime !== undefined ? { maxLifetimeMs: o.maxLifetime } : {}),
    ...(o.allowStaticOnNetwork !== undefined &&
    o.allowStaticOnNetwork !== false &&
    o.allowStaticOnNetwork !== 'false'
      ? { allowStaticOnNetwork: true }
      : {}),
    ...(Object.keys(given).length > 0 ? { limits: given } : {}),
    ...(o.repair ? { repair: true } : {}),
  };
}
