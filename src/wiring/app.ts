/** The express app of this process's role: health always, the API unless a worker, the sandbox when mounted. */
import type { Express, Router } from 'express';
import type { Config } from '../config/load-config';
import type { Logger } from '../domain/ports';
import { createApp } from '../http/app';
import type { Readiness } from '../use-cases/readiness';
import type { ReplayRegistry } from '../use-cases/replay-operations';
import type { AccessWiring } from './access';
import { apiDocs } from './api-docs';
import { subscriberTenant } from './event-delivery';
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
    ...(options.serveApi
      ? {
          api: {
            useCases: runtime.deps,
            monitor: {
              breaker: (name) => {
                const breaker = runtime.breakers.get(name);
                if (!breaker) throw new Error(`no breaker for ${name}`);
                return breaker.snapshot();
              },
              credentials: (name) => {
                const credentials = runtime.credentials.get(name);
                if (!credentials) throw new Error(`no credentials state for ${name}`);
                return credentials.snapshot();
              },
              drainRate: (name) => runtime.drainMeter.ratePerSecond(name),
            },
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
