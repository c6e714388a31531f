import { type ProtocolChoice, parseProtocolChoice } from '@mpc-relay/signer';
import { InvalidArgumentError } from 'commander';

/** `--protocol` / MPC_RELAY_PROTOCOL: v2 or v1 (`seed`, v1's former name, still works and says so). */
export function protocolArg(value: string): ProtocolChoice {
  try {
    return parseProtocolChoice(value, (line) => process.stderr.write(`${line}\n`));
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}
