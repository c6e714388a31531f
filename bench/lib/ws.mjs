/**
 * The `ws` package, resolved from the relay app (the bench is not a workspace package and has no
 * node_modules of its own).
 */
import { createRequire } from 'node:module';

const require = createRequire(new URL('../../apps/relay/package.json', import.meta.url));
const ws = require('ws');

export const WebSocket = ws.WebSocket;
export const WebSocketServer = ws.WebSocketServer;
