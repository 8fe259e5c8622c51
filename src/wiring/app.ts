/** The express app of this process's role: health always, the API unless a worker, the sandbox when mounted. */
import type { Express, Router } from 'express';
import type { Config } from '../config/load-config';
import type { Logger } from '../domain/ports';
import { createApp } from '../http/app';
import type { Readiness } from '../use-cases/readiness';
import type { ReplayRegistry } from '../use-cases/replay-operations';
import type { AccessWiring } from './access';
import { subscriberTenant } from './event-delivery';
import { pipelineMonitor, type MetricsWiring } from './metrics';
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
  return createApp({
    logger: options.logger,
    bodyLimitBytes: config.server.bodyLimitBytes,
    corsAllowOrigins: config.server.cors.allowOrigins,
    access: options.access,
    health: { isShuttingDown: options.isShuttingDown, ...options.readiness },
    metrics: { recorder: options.metrics.recorder, exposition: options.metrics.exposition },
    ...(options.serveApi
      ? {
          api: {
            useCases: runtime.deps,
            monitor: pipelineMonitor(runtime),
            replays: options.replays,
            events: runtime.eventDelivery,
            webhookSchemes: new Map(Object.values(config.connections).map((c) => [c.name, c.webhooks])),
            auditBlind: runtime.audit.enabled ? runtime.audit.blind : undefined,
            // A subscriber without a tenant serves the whole gateway: the admin tenant operates it.
            subscriberTenants: new Map(
              config.events.subscribers.map((s) => [s.name, subscriberTenant(config, s)]),
            ),
          },
          ...(config.limits.enabled ? { rateLimits: runtime.rateLimits } : {}),
        }
      : {}),
    ...(sandbox ? { sandboxRouter: sandbox.router, sandboxAdminRouter: sandbox.adminRouter } : {}),
    ...(sandbox?.authRouter ? { sandboxAuthRouter: sandbox.authRouter } : {}),
  });
}
