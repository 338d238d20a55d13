import { createServer, connect } from 'node:net';
import type { Server, Socket } from 'node:net';

/**
 * A TCP forwarder the test controls, standing between Gatehouse and PostgreSQL or Redis:
 * `stop()` is the service going away (connections cut, new ones refused), `blackhole()` is a
 * network that swallows packets (connections accepted, nothing answered), `start()` brings
 * it back on the same port.
 */
export class TcpProxy {
  #server: Server | null = null;
  readonly #sockets = new Set<Socket>();
  readonly #zombies = new Set<Socket>();
  #blackhole = false;
  #refuse = false;
  port = 0;
  /** Connections accepted so far (refused ones included): how often a client has (re)tried. */
  attempts = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  async start(): Promise<number> {
    this.#blackhole = false;
    this.#refuse = false;
    if (this.#server) return this.port;
    const server = createServer((client) => this.#accept(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    const address = server.address();
    this.port = typeof address === 'object' && address ? address.port : 0;
    this.#server = server;
    return this.port;
  }

  /** The service is gone: every connection is cut and new ones are refused. */
  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = null;
    this.#cutAll();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Packets vanish: open connections go silent and new ones connect but never get an answer. */
  blackhole(): void {
    this.#blackhole = true;
    for (const socket of this.#sockets) {
      socket.removeAllListeners('data');
      socket.unpipe();
      socket.pause();
    }
  }

  /** Forward again (after blackhole or refuse), cutting silent connections as a real network would time them out. */
  heal(): void {
    this.#blackhole = false;
    this.#refuse = false;
    this.#cutAll();
  }

  /**
   * The server moved (a failover, a host that died): new connections reach it again, but the old
   * ones stay silent and open, as TCP keeps a dead peer's connection for many minutes.
   */
  failover(): void {
    for (const socket of this.#sockets) {
      socket.removeAllListeners('data');
      socket.unpipe();
      socket.pause();
      this.#zombies.add(socket);
    }
    this.#sockets.clear();
    this.#blackhole = false;
  }

  /** Up but unusable: every connection is closed as soon as it opens (and counted). */
  async refuse(): Promise<void> {
    if (!this.#server) await this.start();
    this.#refuse = true;
    this.#cutAll();
  }

  #accept(client: Socket): void {
    this.attempts += 1;
    if (this.#refuse) {
      client.destroy();
      return;
    }
    this.#sockets.add(client);
    client.on('close', () => this.#sockets.delete(client));
    client.on('error', () => client.destroy());
    if (this.#blackhole) {
      client.pause();
      return;
    }
    const upstream = connect(this.targetPort, this.targetHost);
    this.#sockets.add(upstream);
    upstream.on('close', () => {
      this.#sockets.delete(upstream);
      client.destroy();
    });
    upstream.on('error', () => upstream.destroy());
    client.on('close', () => upstream.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
  }

  #cutAll(): void {
    for (const socket of [...this.#sockets, ...this.#zombies]) socket.destroy();
    this.#sockets.clear();
    this.#zombies.clear();
  }
}
