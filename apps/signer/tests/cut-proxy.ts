/**
 * A TCP proxy in front of the relay whose connections a test can cut (the client sees a dropped
 * connection and reconnects) and whose door it can hold shut meanwhile (reconnects fail until
 * `open()`), so a message for that client is stored by the relay, then delivered on its return.
 */
import { createServer, Socket } from 'node:net';

export interface CutProxy {
  url: string;
  /** Drops every connection and refuses new ones until `open()`. */
  cut(): void;
  open(): void;
  close(): Promise<void>;
}

export async function cutProxy(relayUrl: string): Promise<CutProxy> {
  const target = new URL(relayUrl);
  const sockets = new Set<Socket>();
  let shut = false;
  const server = createServer((socket) => {
    if (shut) {
      socket.destroy();
      return;
    }
    const upstream = new Socket();
    upstream.connect(Number(target.port), target.hostname);
    for (const each of [socket, upstream]) {
      sockets.add(each);
      each.on('close', () => sockets.delete(each));
      each.on('error', () => {});
    }
    socket.pipe(upstream).pipe(socket);
    socket.on('close', () => upstream.destroy());
    upstream.on('close', () => socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const url = new URL(relayUrl);
  url.port = String(port);
  return {
    url: url.toString().replace(/\/$/, ''),
    cut() {
      shut = true;
      for (const socket of sockets) socket.destroy();
    },
    open() {
      shut = false;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
