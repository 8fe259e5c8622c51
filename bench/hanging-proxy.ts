/**
 * A hung EHR for the benchmark: a proxy on loopback that forwards to the sandbox until `hang()`,
 * then takes every request and never answers it (the connection stays open), as an EHR whose
 * application server froze behind a live load balancer does.
 */
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';

export interface HangingProxy {
  /** `http://127.0.0.1:<port>`: requests are forwarded to the target with the same path. */
  readonly origin: string;
  hang(): void;
  /** Requests taken and not answered since the hang. */
  held(): number;
  close(): Promise<void>;
}

export async function startHangingProxy(target: string): Promise<HangingProxy> {
  const to = new URL(target);
  let hung = false;
  const held = new Set<ServerResponse>();
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (hung) {
      held.add(res);
      res.on('close', () => held.delete(res));
      return;
    }
    const upstream = request(
      { host: to.hostname, port: to.port, path: req.url, method: req.method, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    origin: `http://127.0.0.1:${port}`,
    hang: () => {
      hung = true;
    },
    held: () => held.size,
    close: () =>
      new Promise((resolve) => {
        server.close(() => {
          resolve();
        });
        server.closeAllConnections();
      }),
  };
}
