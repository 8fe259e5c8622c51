/** The express app of this process's role: health always, the API unless a worker, the sandbox when mounted. */
import { join } from 'node:path';
import type { Express, Router } from 'express';
import type { Config } from '../config/load-config';
import type { Logger } from '../domain/ports';
import { createApp } from '../http/app';
import { projectRoot } from '../project-root';
import type { Readiness } from '../use-cases/readiness';
import type { ReplayRegistry } from '../use-cases/replay-operations';
import type { AccessWiring } from './access';
import { apiDocs } from './api-docs';
import { subscriberTenant } from './event-delivery';
import { type MetricsWiring } from './metrics';
import { pipelineMonitor } from './pipeline-monitor';
import { buildQueueDashboards } from './queue-dashboard';
import { createProfileWorkbench } from '../mapping/profile-workbench';
import type { UseCaseRuntime } from './use-case-deps';

export function buildApp(
  config: Config,
  options: {
    readonly logger: Logger;
    readonly access: AccessWiring;
    readonly serveApi: boolean;
    readonly runtime: UseCaseRuntime;
    readonly readiness: Readiness;
    readonly isShuttingDown: () => boolean;
    readonly replays: ReplayRegistry;
    readonly metrics: MetricsWiring;
    readonly sandbox:
      | {
          readonly router: Router;
          readonly adminRouter: Router;
          readonly authRouter?: Router | undefined;
        }
      | undefined;
  },
): Express {
  const { runtime, sandbox } = options;
  // A subscriber without a tenant serves the whole gateway: the admin tenant operates it.
  const subscriberTenants = new Map(
    config.events.subscribers.map((s) => [s.name, subscriberTenant(config, s)]),
  );
  return createApp({
    logger: options.logger,
    bodyLimitBytes: config.server.bodyLimitBytes,
    corsAllowOrigins: config.server.cors.allowOrigins,
    access: options.access,
    health: { isShuttingDown: options.isShuttingDown, ...options.readiness },
    ...(options.serveApi ? { consoleDir: join(projectRoot(), 'src', 'http', 'console') } : {}),
    metrics: {
      recorder: options.metrics.recorder,
      exposition: options.metrics.exposition,
      owned: { connections: Object.values(config.connections).map((c) => c.name), subscriberTenants },
    },
    ...(options.serveApi
      ? {
          api: {
            useCases: runtime.deps,
            mappingCatalog: runtime.mappingCatalog,
            monitor: pipelineMonitor(runtime),
            statusHistory: { store: runtime.statusHistory, intervalMs: config.statusHistory.intervalMs },
            replays: options.replays,
            closures: runtime.closures.deps,
            events: runtime.eventDelivery,
            webhookSchemes: new Map(Object.values(config.connections).map((c) => [c.name, c.webhooks])),
            queueDashboards: buildQueueDashboards({
              tenants: options.access.tenants,
              queues: {
                writes: runtime.writeQueue.queues,
                events: runtime.eventDelivery.queues,
                notifications: runtime.notificationQueue.queue,
              },
              subscriberTenants: subscriberTenants,
            }),
            auditBlind: runtime.audit.enabled ? runtime.audit.blind : undefined,
            mappings: {
              workbench: createProfileWorkbench({
                mappingsDir: config.mappingsDir,
                defaultRegion: config.phone.defaultRegion,
              }),
              catalog: runtime.mappingCatalog,
            },
            subscriberTenants,
          },
          ...(config.limits.enabled ? { rateLimits: runtime.rateLimits } : {}),
          apiDocs: apiDocs({
            sandbox: { enabled: sandbox !== undefined, checksTokens: sandbox?.authRouter !== undefined },
            phoneRegion: [...runtime.deps.connections.values()][0]?.phoneRegion ?? 'US',
          }),
        }
      : {}),
    ...(sandbox ? { sandboxRouter: sandbox.router, sandboxAdminRouter: sandbox.adminRouter } : {}),
    ...(sandbox?.authRouter ? { sandboxAuthRouter: sandbox.authRouter } : {}),
  });
}
