import { encodePong } from '@mpc-relay/protocol';
import { answer, messageRoute } from '../invocation.js';

/** `ping` (two-way): answers `{"pong": <epoch ms>}`. No DynamoDB, no post. */
export const handler = messageRoute(async () => answer(encodePong()));
