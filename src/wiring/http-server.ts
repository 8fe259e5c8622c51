/**
 * The HTTP server listens before the rest is built (the sandbox connection's URL needs the port)
 * and answers 503 NOT_READY until the app is served.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Config } from '../config/load-config';
import type { Logger } from '../domain/ports';
import { createStartingApp } from '../http/starting-app';
import type { Closeables } from './closeables';

export interface HttpServer {
  readonly url: string;
  readonly port: number;
  /** From now on requests go to `app`. */
  serve(app: (req: IncomingMessage, res: ServerResponse) => void): void;
}

async function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const address = server.address();
      resolveListen(typeof address === 'object' && address !== null ? address.port : port);
    });
  });
}

/** How often a closing server drops keep-alive sockets that went idle since it stopped listening. */
const IDLE_SWEEP_MS = 100;

async function closeServer(server: Server, drainMs: number): Promise<void> {
  await new Promise<void>((resolveClose) => {
    // A socket busy when close() was called stays open after its response, until the keep-alive
    // timeout (65 s). The workers of this process talk to the sandbox mounted here, so one is
    // usually busy: sweep idle sockets until the last in-flight request is done.
    const sweep = setInterval(() => {
      server.closeIdleConnections();
    }, IDLE_SWEEP_MS);
    // A request that never ends (a hung EHR behind it, a slow client) must not hold the rest of
    // the shutdown past its grace: after the drain time, cut what is left.
    const cut = setTimeout(() => {
      server.closeAllConnections();
    }, drainMs);
    server.close(() => {
      clearInterval(sweep);
      clearTimeout(cut);
      resolveClose();
    });
    server.closeIdleConnections();
  });
}

export async function startHttpServer(
  config: Config,
  logger: Logger,
  closeables: Closeables,
): Promise<HttpServer> {
  let handler: (req: IncomingMessage, res: ServerResponse) => void = createStartingApp(logger);
  const { headersTimeoutMs, requestTimeoutMs } = config.server;
  const server = createServer(
    {
      headersTimeout: headersTimeoutMs,
      requestTimeout: requestTimeoutMs,
      // Node looks for expired requests only this often (30 s by default), which would stretch
      // every timeout above to the next check.
      connectionsCheckingInterval: Math.min(1000, Math.ceil(headersTimeoutMs / 2)),
    },
    (req, res) => {
      handler(req, res);
    },
  );
  server.keepAliveTimeout = 65_000;
  const port = await listen(server, config.server.port, config.server.host);
  // Half the shutdown grace for requests in flight, the rest for the queues, workers and Redis.
  const drainMs = Math.floor(config.server.shutdownGraceMs / 2);
  closeables.add('intake', 'http', () => closeServer(server, drainMs));
  const host =
    config.server.host === '0.0.0.0' || config.server.host === '::' ? '127.0.0.1' : config.server.host;
  return {
    url: `http://${host}:${port}`,
    port,
    serve(app) {
      handler = app;
    },
  };
}
