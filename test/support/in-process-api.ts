/**
 * The API as the gateway serves it (`buildApp`, hence `createApp`), on the HTTP server the gateway
 * listens with (`startHttpServer`, with its timeouts), over the use cases of a rig: no workers, so
 * an accepted write stays queued and nothing reaches the EHR unless a test applies it.
 */
import type { Express } from 'express';
import { Redis } from 'ioredis';
import request from 'supertest';
import { createSandboxEhr } from '../../adapters/ehr/sandbox';
import { createLogger } from '../../src/observability/logger';
import { createReadiness } from '../../src/use-cases/readiness';
import { ReplayRegistry } from '../../src/use-cases/replay-operations';
import { buildAccess, type AccessWiring } from '../../src/wiring/access';
import { buildApp } from '../../src/wiring/app';
import { Closeables } from '../../src/wiring/closeables';
import { startHttpServer } from '../../src/wiring/http-server';
import { createMetricsWiring, registerRuntimeGauges } from '../../src/wiring/metrics';
import { forgetCredential, readAdminKey, useCredential } from './credentials';
import { captureLogs } from './log-capture';
import { TEST_REDIS_URL } from './redis';
import { startUseCaseRig, type UseCaseRig, type UseCaseRigOptions } from './use-case-rig';

export interface InProcessApi {
  readonly rig: UseCaseRig;
  readonly url: string;
  /** The admin client's key; `http()` and `rawRequest()` send it to this API. */
  readonly key: string;
  readonly access: AccessWiring;
  /** The express app the server serves, for supertest and for walking its routes. */
  readonly app: Express;
  /** supertest against the listening API, with the admin key on every request. */
  request(): ReturnType<typeof request.agent>;
  /** The API's own log lines (the rig's use cases log elsewhere). */
  readonly logs: ReturnType<typeof captureLogs>;
  stop(): Promise<void>;
}

export interface InProcessApiOptions extends UseCaseRigOptions {
  /**
   * Mount a sandbox EHR's routers at /sandbox/fhir and /sandbox/admin, as a gateway with the
   * built-in sandbox does. It is a sandbox of its own: the rig's connections keep theirs.
   */
  readonly mountSandbox?: boolean;
}

export async function startInProcessApi(options: InProcessApiOptions = {}): Promise<InProcessApi> {
  const rig = await startUseCaseRig({
    ...options,
    overrides: {
      ...options.overrides,
      server: { port: 0, host: '127.0.0.1', ...(options.overrides?.server as object | undefined) },
    },
  });
  const logs = captureLogs();
  const logger = createLogger({ level: 'debug', destination: logs.stream, base: { role: 'api' } });
  const closeables = new Closeables(logger);
  const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 2 });
  try {
    const server = await startHttpServer(rig.config, logger, closeables);
    const access = await buildAccess(rig.config, rig.redis, logger, closeables);
    const key = readAdminKey(rig.config.dataDir);
    useCredential(server.url, key);
    closeables.add('intake', 'test credential', () => {
      forgetCredential(server.url);
      return Promise.resolve();
    });
    const sandbox = options.mountSandbox
      ? await createSandboxEhr({ seed: 1, patientCount: 20, logger: logger.child({ component: 'sandbox' }) })
      : undefined;
    if (sandbox) closeables.add('ehr', 'sandbox', () => sandbox.close());
    // The rig's use cases report elsewhere; this registry serves the API's requests and the gauges.
    const metrics = createMetricsWiring();
    registerRuntimeGauges(metrics, rig.runtime, logger);
    const app = buildApp(rig.config, {
      logger,
      access,
      serveApi: true,
      runtime: rig.runtime,
      readiness: createReadiness(rig.deps, {
        pingRedis: () => redis.ping(),
        breaker: (name) => rig.runtime.breakers.get(name)?.snapshot(),
        credentials: (name) => rig.runtime.credentials.get(name)?.snapshot(),
      }),
      isShuttingDown: () => false,
      replays: new ReplayRegistry(),
      metrics,
      sandbox,
    });
    server.serve(app);
    return {
      rig,
      url: server.url,
      key,
      access,
      app,
      request: () => request.agent(server.url).set('authorization', `Bearer ${key}`),
      logs,
      stop: async () => {
        await closeables.closeAll();
        redis.disconnect();
        await rig.stop();
      },
    };
  } catch (error) {
    await closeables.closeAll();
    redis.disconnect();
    await rig.stop();
    throw error;
  }
}
