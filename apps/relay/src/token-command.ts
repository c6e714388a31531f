import { Command, Option } from 'commander';
import { normalizeArgv } from './cli.js';
import { loadOrCreateJwtSecret, parseTtl, signToken } from './jwt-secret.js';

/** The relay's default data folder (`DEFAULTS.dataDir`; not imported: it would load the gateway). */
export const TOKEN_DEFAULT_DATA_DIR = 'relay-data';

/**
 * `pnpm run token --type cli --id cli123 --ttl 1h [--data-dir D] [--teams a,b] [--peers m1,m2] [--aud A] [--iss I]`:
 * mints an HS256 token for the local relay in jwt mode (`pnpm start -- --auth jwt --data-dir D`),
 * signed with the same secret (MPC_RELAY_JWT_SECRET, else D/jwt-secret, created on first use).
 * Prints what it did on stderr and the token alone on the last line of stdout.
 */
export function runTokenCommand(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): string {
  const program = new Command('mpc-relay-token')
    .description('Mint a token for the local relay in jwt mode')
    .addOption(new Option('--type <type>', 'peer type').choices(['cli', 'mpc']).makeOptionMandatory())
    .addOption(new Option('--id <id>', 'peer id (cliId or mpcId)').makeOptionMandatory())
    .addOption(new Option('--ttl <duration>', 'lifetime: 90s, 15m, 1h, 7d').default('1h'))
    .addOption(
      new Option('--data-dir <dir>', 'the relay data folder holding jwt-secret')
        .env('DATA_DIR')
        .default(TOKEN_DEFAULT_DATA_DIR),
    )
    .addOption(new Option('--teams <list>', 'comma list of team ids (tenant isolation)'))
    .addOption(
      new Option(
        '--peers <list>',
        'comma list of the only counterparts allowed: the mpc ids a cli accepts, the cli ids an mpc may contact',
      ),
    )
    .addOption(new Option('--aud <audience>', 'aud claim (when the relay sets JWT_AUDIENCE)'))
    .addOption(new Option('--iss <issuer>', 'iss claim (when the relay sets JWT_ISSUER)'))
    .allowExcessArguments(false)
    .configureOutput({
      outputError: (text, write) => write(`mpc-relay-token: ${text.replace(/^error: /, '')}`),
    });
  program.parse(normalizeArgv(argv));
  const o = program.opts<{
    type: 'cli' | 'mpc';
    id: string;
    ttl: string;
    dataDir: string;
    teams?: string;
    peers?: string;
    aud?: string;
    iss?: string;
  }>();
  const ttlSeconds = parseTtl(o.ttl);
  const teams = (o.teams ?? '')
    .split(',')
    .map((team) => team.trim())
    .filter((team) => team !== '');
  const peers =
    o.peers === undefined
      ? undefined
      : o.peers
          .split(',')
          .map((peer) => peer.trim())
          .filter((peer) => peer !== '');
  const { secret, source, created } = loadOrCreateJwtSecret(o.dataDir, env);
  const token = signToken(secret, {
    type: o.type,
    id: o.id,
    ttlSeconds,
    teams,
    ...(peers !== undefined ? { peers } : {}),
    ...(o.aud ? { audience: o.aud } : {}),
    ...(o.iss ? { issuer: o.iss } : {}),
  });
  const expires = new Date(Date.now() + ttlSeconds * 1000).toISOString();
  process.stderr.write(
    `token for ${o.type}:${o.id}${teams.length > 0 ? ` (teams ${teams.join(',')})` : ''}${
      peers !== undefined ? ` (peers ${peers.length > 0 ? peers.join(',') : 'none'})` : ''
    }, expires ${expires}, ` + `HS256 with ${created ? 'a new secret ' : ''}${source}\n`,
  );
  return token;
}
