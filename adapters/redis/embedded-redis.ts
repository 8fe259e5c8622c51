/**
 * A private redis-server child for `npm start` with no REDIS_URL: append-only persistence under
 * the data directory, reachable only through a unix socket (or loopback when the socket path would
 * exceed the kernel's limit). A restart finds the queue and operations again from the AOF.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import type { Logger } from '../../src/domain/ports';

export interface EmbeddedRedis {
  /** ioredis connection options target: `{ path }` or `{ host, port }`. */
  readonly target: RedisTarget;
  readonly pid: number | undefined;
  stop(): Promise<void>;
}

export type RedisTarget = { readonly path: string } | { readonly host: string; readonly port: number };

export class RedisUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RedisUnavailableError';
  }
}

/** Unix socket paths are limited to 108 bytes on Linux (sun_path), including the NUL. */
const MAX_SOCKET_PATH = 100;

export function redisBinaryAvailable(binary: string): boolean {
  const result = spawnSync(binary, ['--version'], { stdio: 'ignore' });
  return result.error === undefined && result.status === 0;
}

async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => {
        resolvePort(port);
      });
    });
  });
}

async function ping(target: RedisTarget): Promise<boolean> {
  const client = new Redis({
    ...target,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
    connectTimeout: 500,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.ping();
    return true;
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

async function waitUntilReady(target: RedisTarget, child: ChildProcess, deadlineMs: number): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null)
      throw new RedisUnavailableError(`redis-server exited with code ${child.exitCode}`);
    if (await ping(target)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new RedisUnavailableError(`redis-server did not answer within ${deadlineMs} ms`);
}

export interface StartEmbeddedRedisOptions {
  readonly dataDir: string;
  readonly binary: string;
  readonly logger: Logger;
  /** Its `maxmemory`: past it, `noeviction` Redis refuses writes instead of growing until killed. */
  readonly maxMemoryBytes?: number;
}

export async function startEmbeddedRedis(options: StartEmbeddedRedisOptions): Promise<EmbeddedRedis> {
  const dir = join(options.dataDir, 'redis');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const socketPath = join(dir, 'redis.sock');
  const useSocket = socketPath.length <= MAX_SOCKET_PATH;

  // A gateway killed with SIGKILL leaves its redis-server running on the same directory; a
  // second server on the same AOF would corrupt it, so adopt the survivor instead.
  if (useSocket && existsSync(socketPath) && (await ping({ path: socketPath }))) {
    options.logger.warn(
      { dataDir: dir },
      'adopting an embedded redis-server left running by a previous gateway',
    );
    return adopted({ path: socketPath });
  }

  if (!redisBinaryAvailable(options.binary)) {
    throw new RedisUnavailableError(
      'Continuum needs Redis: install redis-server (for example `apt-get install redis-server`) or set REDIS_URL to an existing Redis.',
    );
  }

  const port = useSocket ? 0 : await freePort();
  const target: RedisTarget = useSocket ? { path: socketPath } : { host: '127.0.0.1', port };
  const args = [
    '--dir',
    dir,
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--appendonly',
    'yes',
    '--appendfsync',
    'everysec',
    '--maxmemory-policy',
    'noeviction',
    '--save',
    '',
    '--daemonize',
    'no',
    '--protected-mode',
    'yes',
    '--loglevel',
    'warning',
    '--logfile',
    join(dir, 'redis.log'),
  ];
  if (useSocket) args.push('--unixsocket', socketPath, '--unixsocketperm', '700');
  if (options.maxMemoryBytes !== undefined) args.push('--maxmemory', String(options.maxMemoryBytes));

  const child = spawn(options.binary, args, { stdio: 'ignore', detached: false });
  const exited = new Promise<void>((resolveExit) =>
    child.once('exit', () => {
      resolveExit();
    }),
  );
  child.on('error', () => undefined);
  try {
    await waitUntilReady(target, child, 15000);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  options.logger.info(
    { pid: child.pid, persistence: 'aof', socket: useSocket },
    'embedded redis-server started',
  );

  return {
    target,
    pid: child.pid,
    stop: async () => {
      if (child.exitCode !== null) return;
      // SIGTERM makes redis-server flush the AOF and exit cleanly.
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10000);
      await exited;
      clearTimeout(timer);
    },
  };
}

function adopted(target: RedisTarget): EmbeddedRedis {
  return {
    target,
    pid: undefined,
    stop: async () => {
      const client = new Redis({
        ...target,
        lazyConnect: true,
        maxRetriesPerRequest: 1,
        retryStrategy: () => null,
      });
      client.on('error', () => undefined);
      try {
        await client.connect();
        await client.call('SHUTDOWN');
      } catch {
        // SHUTDOWN closes the connection before answering; an error here is the expected outcome.
      } finally {
        client.disconnect();
      }
    },
  };
}
