/**
 * A TCP proxy in front of the relay's WebSocket port, to cut connections abruptly from the relay's
 * side (the relay's socket is reset, as when a network path dies), which `ws` offers no way to do
 * from inside the test's clients.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export class TcpProxy {
  readonly links = new Set<{ client: Socket; upstream: Socket }>();
  cuts = 0;

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
    let proxy: TcpProxy | undefined;
    const server = createServer((client) => {
      const upstream = connect(targetPort, targetHost);
      const link = { client, upstream };
      proxy!.links.add(link);
      client.pipe(upstream);
      upstream.pipe(client);
      const end = () => {
        proxy!.links.delete(link);
        client.destroy();
        upstream.destroy();
      };
      client.on('error', end);
      upstream.on('error', end);
      client.on('close', end);
      upstream.on('close', end);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    proxy = new TcpProxy(server, typeof address === 'object' && address ? address.port : 0);
    return proxy;
  }

  /** Resets the relay-side socket of every link (RST to the relay), then drops the client side. */
  cutAll(): number {
    const n = this.links.size;
    for (const link of [...this.links]) {
      link.upstream.resetAndDestroy();
      link.client.destroy();
    }
    this.cuts += n;
    return n;
  }

  close(): Promise<void> {
    this.cutAll();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
