import { createServer, Server, Socket, connect } from 'node:net';

/**
 * A round-robin TCP balancer on 127.0.0.1, like a Kubernetes Service in front of several
 * orchestrator replicas: each new connection goes to the next backend; a backend that refuses the
 * connection (killed, restarting) is skipped for the next one, and when every backend refuses,
 * the client's connection is closed. Open connections to a replica that dies die with it, as
 * they would behind a real Service.
 */
export class RoundRobinBalancer {
  private next = 0;
  private readonly sockets = new Set<Socket>();
  /** Connections handed to each backend port. */
  readonly connections = new Map<number, number>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
    private readonly backends: () => number[],
  ) {}

  static async start(backends: () => number[]): Promise<RoundRobinBalancer> {
    let balancer: RoundRobinBalancer | null = null;
    const server = createServer((client) => balancer?.accept(client));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    balancer = new RoundRobinBalancer(
      server,
      (server.address() as { port: number }).port,
      backends,
    );
    return balancer;
  }

  url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    this.track(client);
    client.pause();
    const ports = this.backends();
    const start = this.next++;
    const tryBackend = (tries: number): void => {
      if (tries >= ports.length || client.destroyed) {
        client.destroy();
        return;
      }
      const port = ports[(start + tries) % ports.length];
      const upstream = connect(port, '127.0.0.1');
      const refused = (): void => {
        upstream.destroy();
        tryBackend(tries + 1);
      };
      upstream.once('error', refused);
      upstream.once('connect', () => {
        upstream.off('error', refused);
        this.track(upstream);
        this.connections.set(port, (this.connections.get(port) ?? 0) + 1);
        const close = (): void => {
          client.destroy();
          upstream.destroy();
        };
        upstream.on('error', close);
        client.on('error', close);
        upstream.on('close', close);
        client.on('close', close);
        client.pipe(upstream).pipe(client);
        client.resume();
      });
    };
    client.on('error', () => client.destroy());
    tryBackend(0);
  }

  private track(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
  }
}
