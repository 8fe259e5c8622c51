/**
 * One set of processes a benchmark runs against, each its own process stopped by PID: a private
 * redis-server (AOF everysec, noeviction), `continuum sandbox`, an API gateway (`--role api`) and,
 * on demand, worker gateways (`--role worker`) or a second API, all with one config file and one
 * data directory (the API and the worker must share the generated record key). Once the API is up,
 * the benchmark client is registered in its client registry and the keep-alive HTTP client presents
 * that client's key on every request to any gateway of the rig.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import { loadConfig } from '../src/config/load-config';
import type { Config } from '../src/config/load-config';
import type { Scope } from '../src/domain/access';
import { createLogger } from '../src/observability/logger';
import { checkAccessControl, registerBenchClient, type BenchClient } from './bench-client';
import {
  createHttpClient,
  freePort,
  startProcess,
  startRedisWithAof,
  waitForHttp,
  type HttpClient,
  type PortRange,
  type Proc,
} from './bench-support';

export type Gateway = Proc & { readonly url: string };

export interface GatewayRig {
  readonly redis: Proc & { readonly url: string };
  readonly redisClient: Redis;
  readonly sandbox: Proc;
  readonly sandboxOrigin: string;
  readonly sandboxFhirUrl: string;
  readonly api: Gateway;
  /** What the gateway processes read, from the same environment: key prefix, tenants, queue. */
  readonly config: Config;
  readonly client: BenchClient;
  /** Presents the client's key to the API, nothing to the sandbox (other gateways: pass it yourself). */
  readonly http: HttpClient;
  /** Another gateway process on the same Redis, sandbox and data directory. */
  readonly startGateway: (role: 'api' | 'worker', extraEnv?: NodeJS.ProcessEnv) => Promise<Gateway>;
  /** Another process to stop with the rig (a yardstick server); returned as given. */
  readonly adopt: (proc: Proc) => Proc;
  /** Stops every process of the rig, newest first, and removes its files. */
  readonly stop: () => Promise<void>;
}

export interface RigOptions {
  readonly root: string;
  readonly configFile: string;
  /** `continuum sandbox` arguments beyond its port, e.g. `--patients 2200`. */
  readonly sandboxArgs?: readonly string[];
  /** Environment for the gateway processes on top of this process's (e.g. the config's variables). */
  readonly env?: NodeJS.ProcessEnv;
  /** Default: BENCH_SCOPES. */
  readonly scopes?: readonly Scope[];
  /** Sockets of the HTTP client: at least the load's concurrency. */
  readonly maxSockets: number;
  readonly ports?: PortRange;
  /** The API and worker processes write V8 CPU profiles there (slows them). */
  readonly profileDir?: string;
}

export async function startGatewayRig(options: RigOptions): Promise<GatewayRig> {
  const procs: Proc[] = [];
  const dataDir = mkdtempSync(join(tmpdir(), 'continuum-bench-'));
  let redisClient: Redis | undefined;
  let http: HttpClient | undefined;
  const stop = async (): Promise<void> => {
    http?.close();
    redisClient?.disconnect();
    for (const proc of procs.splice(0).reverse()) await proc.stop();
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    const cli = join(options.root, 'dist', 'src', 'cli', 'continuum.js');
    const redis = await startRedisWithAof(options.ports);
    procs.push(redis);
    redisClient = new Redis(redis.url, { maxRetriesPerRequest: 2 });
    const sandboxPort = await freePort(options.ports);
    const sandbox = startProcess(process.execPath, [
      cli,
      'sandbox',
      '--port',
      String(sandboxPort),
      ...(options.sandboxArgs ?? []),
    ]);
    procs.push(sandbox);
    const sandboxOrigin = `http://127.0.0.1:${sandboxPort}`;
    const sandboxFhirUrl = `${sandboxOrigin}/sandbox/fhir`;
    await waitForHttp(`${sandboxFhirUrl}/metadata`);

    const gatewayEnv: NodeJS.ProcessEnv = {
      ...process.env,
      ...options.env,
      REDIS_URL: redis.url,
      LOG_LEVEL: 'warn',
      CONTINUUM_CONFIG: options.configFile,
      BENCH_SANDBOX_URL: sandboxFhirUrl,
      CONTINUUM_DATA_DIR: dataDir,
    };
    const profileDir = options.profileDir;
    const startGateway = async (
      role: 'api' | 'worker',
      extraEnv: NodeJS.ProcessEnv = {},
    ): Promise<Gateway> => {
      const port = await freePort(options.ports);
      const profile =
        profileDir !== undefined && profileDir !== ''
          ? ['--cpu-prof', `--cpu-prof-dir=${join(resolve(profileDir), role)}`]
          : [];
      const proc = startProcess(process.execPath, [...profile, cli, 'start', '--role', role], {
        ...gatewayEnv,
        ...extraEnv,
        PORT: String(port),
      });
      procs.push(proc);
      const url = `http://127.0.0.1:${port}`;
      await waitForHttp(`${url}/readyz`);
      return { ...proc, url };
    };
    const api = await startGateway('api');
    const config = loadConfig({ env: gatewayEnv, builtInMappingsDir: join(options.root, 'mappings') });
    const client = await registerBenchClient({
      redis: redisClient,
      prefix: `{${config.redis.keyPrefix}}`,
      tenant: config.auth.adminTenant,
      logger: createLogger({ level: 'warn', destination: process.stderr }),
      ...(options.scopes !== undefined ? { scopes: options.scopes } : {}),
    });
    await checkAccessControl(api.url, client);
    const rigHttp = createHttpClient(options.maxSockets, {
      credentials: { [api.url]: client.authorization },
    });
    http = rigHttp;
    return {
      redis,
      redisClient,
      sandbox,
      sandboxOrigin,
      sandboxFhirUrl,
      api,
      config,
      client,
      http: rigHttp,
      startGateway,
      adopt: (proc) => {
        procs.push(proc);
        return proc;
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
