/**
 * A TCP proxy in front of a Redis that can lose one answer: armed with a pattern, it passes the
 * next command matching it to Redis, waits until Redis has answered (so the command certainly ran),
 * then drops the client's connection without that answer and refuses new connections for a while,
 * as a Redis killed between running a command and sending its reply looks to a client.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { once } from 'node:events';

export interface ReplyCuttingProxy {
  readonly url: string;
  /** Lose the answer to the next command whose bytes contain every one of `markers`. */
  arm(markers: readonly string[], options: { readonly downForMs: number }): void;
  /** Resolves once an armed command ran in Redis and its answer was dropped. */
  readonly cut: Promise<void>;
  /** Drop every connection and refuse new ones until `comeBack`, as a dead Redis would. */
  goDown(): void;
  comeBack(): void;
  close(): Promise<void>;
}

export async function startReplyCuttingProxy(upstreamPort: number): Promise<ReplyCuttingProxy> {
  let armed: { markers: readonly string[]; downForMs: number } | undefined;
  let downUntil = 0;
  let markCut: () => void = () => undefined;
  const cut = new Promise<void>((resolve) => {
    markCut = resolve;
  });
  const sockets = new Set<Socket>();

  const server: Server = createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => undefined);
    if (Date.now() < downUntil) {
      client.destroy();
      return;
    }
    const upstream = connect(upstreamPort, '127.0.0.1');
    sockets.add(upstream);
    upstream.on('close', () => {
      sockets.delete(upstream);
      client.destroy();
    });
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    let cutting = false;
    upstream.on('data', (chunk: Buffer) => {
      if (cutting) {
        // Redis answered the armed command: it ran. The client never hears so.
        cutting = false;
        client.destroy();
        upstream.destroy();
        markCut();
        return;
      }
      client.write(chunk);
    });
    client.on('data', (chunk: Buffer) => {
      const text = chunk.toString('latin1');
      if (armed !== undefined && armed.markers.every((m) => text.includes(m))) {
        downUntil = Date.now() + armed.downForMs;
        armed = undefined;
        cutting = true;
      }
      upstream.write(chunk);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the proxy has no port');

  return {
    url: `redis://127.0.0.1:${address.port}`,
    arm(markers, options) {
      armed = { markers, downForMs: options.downForMs };
    },
    cut,
    goDown() {
      downUntil = Number.POSITIVE_INFINITY;
      for (const socket of sockets) socket.destroy();
    },
    comeBack() {
      downUntil = 0;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
