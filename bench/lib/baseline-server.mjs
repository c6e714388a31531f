/**
 * The baseline: a bare `ws` forwarder. Peers connect with the relay's query string
 * (`?type=mpc&mpcId=M` / `?type=cli&cliId=C&pair=P`); every frame from one socket of a pair is
 * sent as is to the other. No JSON parsing, no handlers, no store: the floor any WebSocket relay
 * on this machine pays for two hops of loopback I/O.
 */
import { serveChild } from './child-runtime.mjs';
import { WebSocketServer } from './ws.mjs';

const pairs = new Map();
const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
let connections = 0;

wss.on('connection', (socket, request) => {
  connections++;
  const query = new URL(request.url ?? '/', 'http://x').searchParams;
  const key = query.get('pair') ?? '';
  const side = query.get('type') === 'mpc' ? 'mpc' : 'cli';
  const entry = pairs.get(key) ?? { mpc: undefined, cli: undefined };
  entry[side] = socket;
  pairs.set(key, entry);
  const other = side === 'mpc' ? 'cli' : 'mpc';
  socket.on('message', (data, isBinary) => {
    entry[other]?.send(data, { binary: isBinary });
  });
  socket.on('close', () => {
    connections--;
    if (entry[side] === socket) entry[side] = undefined;
  });
});

await new Promise((resolve) => wss.once('listening', resolve));
const { port } = wss.address();

serveChild({ connections: () => connections }, () => new Promise((resolve) => wss.close(() => resolve())));
process.send({ type: 'ready', url: `ws://127.0.0.1:${port}/bench` });
