/**
 * createApp builds the express application from its dependencies and never listens: main.ts
 * does, and tests drive it with supertest.
 */
import express, { type Express, type Router } from 'express';
import { ContinuumError } from '../domain/errors';
import type { ClientRegistry, Tenant, TokenService } from '../domain/access';
import type { MappingCatalog } from '../domain/mapping-catalog';
import type { Metrics } from '../domain/metrics';
import type { EventOperations, Logger, PipelineMonitor } from '../domain/ports';
import type { StatusHistoryStore } from '../domain/status-history';
import { authenticateCredential, type BuiltInCredential } from '../use-cases/client-authentication';
import type { ReplayRegistry } from '../use-cases/replay-operations';
import type { ClosureDeps } from '../use-cases/site-closure';
import type { UseCaseDeps } from '../use-cases/use-case-deps';
import { accessControl } from './access-control';
import { auditTrail } from './audit-trail';
import { auditRoutes } from './routes/audit.routes';
import { consoleRoutes } from './routes/console.routes';
import { bodyParsers } from './body-parsing';
import { routeMatcher, routeTable } from './route-table';
import { oauthRoutes } from './routes/oauth.routes';
import { cors } from './cors';
import type { WebhookScheme } from './webhook-signature';
import { flatShape } from './flat-shape';
import { problemHandler, sendProblem } from './problem';
import { queueDashboard } from './queue-dashboard';
import { rateLimit, type RateLimitDeps } from './rate-limit';
import { requestContext } from './request-context';
import { noStore, securityHeaders } from './security-headers';
import { ehrWebhookRoutes } from './routes/ehr-webhooks.routes';
import { eventsRoutes, type SubscriberTenants } from './routes/events.routes';
import { healthRoutes, type HealthChecks } from './routes/health.routes';
import type { MetricsOwnership } from './metrics-tenant-view';
import { metricsRoutes, type MetricsExposition } from './routes/metrics.routes';
import { requestMetrics } from './request-metrics';
import { appointmentsRoutes } from './routes/appointments.routes';
import { callbacksRoutes, callsRoutes } from './routes/calls.routes';
import { callbackRequestRoutes } from './routes/callback-request.routes';
import { crisisRoutes } from './routes/crisis.routes';
import { noticesRoutes } from './routes/notices.routes';
import { operationsRoutes } from './routes/operations.routes';
import { closuresRoutes } from './routes/closures.routes';
import { patientNoticesRoutes } from './routes/patient-notices.routes';
import { slotsRoutes } from './routes/slots.routes';
import { patientsRoutes } from './routes/patients.routes';
import { statusRoutes } from './routes/status.routes';
import { mappingReloadRoutes } from './routes/mapping-reload.routes';
import { mappingVersionsRoutes } from './routes/mapping-versions.routes';
import { verifyRoutes } from './routes/verify.routes';
import { docsRoutes, type ApiDocs } from './routes/docs.routes';
import { mappingsRoutes } from './routes/mappings.routes';
import type { MappingWorkbench } from '../domain/mapping-workbench';

export interface AppDeps {
  readonly logger: Logger;
  readonly health: HealthChecks;
  readonly bodyLimitBytes: number;
  /** Browser origins allowed to call the API; empty: no CORS headers at all. */
  readonly corsAllowOrigins?: readonly string[];
  /** Who may call: every route but probes, the token endpoint, the key set and EHR webhooks needs a client. */
  readonly access: {
    readonly registry: ClientRegistry;
    readonly tokens: TokenService;
    readonly tenants: ReadonlyMap<string, Tenant>;
    /** Credentials the gateway gives itself (its connection to the built-in sandbox EHR). */
    readonly builtIn: readonly BuiltInCredential[];
  };
  /** The API; absent in the worker role, which serves health only. */
  readonly api?: {
    readonly useCases: UseCaseDeps;
    /** The running mapping profiles and their stored versions (the same as `useCases.mappingCatalog`). */
    readonly mappingCatalog: MappingCatalog;
    readonly monitor: PipelineMonitor;
    /** Where the status history is kept, and how often it is sampled. */
    readonly statusHistory: { readonly store: StatusHistoryStore; readonly intervalMs: number };
    readonly replays: ReplayRegistry;
    /** Site closures and what they told patients; absent: not served. */
    readonly closures?: ClosureDeps;
    /** Subscribers' state and the replay of their dead letters. */
    readonly events: EventOperations;
    /** Each EHR connection's signature scheme for POST /webhooks/ehr/:connection. */
    readonly webhookSchemes: ReadonlyMap<string, WebhookScheme | undefined>;
    /** Each event subscriber's tenant: a tenant sees and replays only its own. */
    readonly subscriberTenants: SubscriberTenants;
    /** The queue dashboard of each tenant (/admin/queues), by tenant name; absent: not served. */
    readonly queueDashboards?: ReadonlyMap<string, Router>;
    /** The mapping workbench (/v1/mappings); absent: not served. */
    readonly mappings?: {
      readonly workbench: MappingWorkbench;
      /** Running versions, reloads and empty-field findings; absent: read from the connections. */
      readonly catalog?: MappingCatalog;
    };
    /** Keyed hash of searched numbers in audit records; undefined: the trail is off (`audit.enabled`). */
    readonly auditBlind: ((value: string) => string) | undefined;
  };
  /** The operator console's static files (page, script, style), served at /console with the API. */
  readonly consoleDir?: string;
  /** What requests are counted in, and `GET /metrics`: served in every role. Absent: neither. */
  readonly metrics?: {
    readonly recorder: Metrics;
    readonly exposition: MetricsExposition;
    /** Whose connections and subscribers the series name: a tenant sees its own (metrics-tenant-view.ts). */
    readonly owned: MetricsOwnership;
  };
  /** Request budgets per client and scanning detection; absent: no budgets (the worker role). */
  readonly rateLimits?: RateLimitDeps;
  /** The built-in sandbox EHR's FHIR router, mounted at /sandbox/fhir when enabled. */
  readonly sandboxRouter?: Router;
  /** The sandbox EHR's control API (fault switch), mounted at /sandbox/admin when enabled. */
  readonly sandboxAdminRouter?: Router;
  /**
   * The sandbox's OAuth token endpoint, mounted at /sandbox/auth when it requires tokens: then its
   * FHIR API checks them itself instead of the gateway's `sandbox:admin` (see route-table.ts).
   */
  readonly sandboxAuthRouter?: Router;
  /** GET /openapi.json and the /docs page; absent in the worker role, which serves no API. */
  readonly apiDocs?: ApiDocs;
}

export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');
  app.use(requestContext(deps.logger));
  if (deps.metrics) app.use(requestMetrics(deps.metrics.recorder));
  app.use(securityHeaders());
  app.use(cors(deps.corsAllowOrigins ?? []));
  const { registry, tokens, tenants, builtIn } = deps.access;
  // Before access control, so its refusals are not cached either.
  app.use('/v1', noStore());
  app.use(
    accessControl({
      routes: routeMatcher(routeTable({ sandboxChecksTokens: deps.sandboxAuthRouter !== undefined })),
      tenants,
      authenticate: (credential) => authenticateCredential({ registry, tokens, builtIn }, credential),
    }),
  );
  if (deps.rateLimits) app.use(rateLimit(deps.rateLimits));
  if (deps.api?.auditBlind !== undefined) {
    // Every PHI access is recorded before it is answered (not the refusals above: they disclose nothing).
    app.use(
      auditTrail({
        trail: deps.api.useCases.audit,
        blind: deps.api.auditBlind,
        logger: deps.logger,
        clock: deps.api.useCases.clock,
      }),
    );
  }
  app.use(healthRoutes(deps.health));
  // Public files (the route table says so); the data they show comes from the API with the user's key.
  if (deps.api && deps.consoleDir !== undefined) app.use('/console', consoleRoutes(deps.consoleDir));
  if (deps.metrics) app.use(metricsRoutes(deps.metrics.exposition, deps.metrics.owned));
  app.use(oauthRoutes(registry, tokens, deps.bodyLimitBytes));
  if (deps.apiDocs) app.use(docsRoutes(deps.apiDocs));

  // The sandbox parses its own FHIR bodies; mounted before the API's parsers.
  if (deps.sandboxRouter) app.use('/sandbox/fhir', deps.sandboxRouter);
  if (deps.sandboxAdminRouter) app.use('/sandbox/admin', deps.sandboxAdminRouter);
  if (deps.sandboxAuthRouter) app.use('/sandbox/auth', deps.sandboxAuthRouter);

  if (deps.api) {
    const { useCases, monitor, replays } = deps.api;
    const v1 = express.Router();
    v1.use(...bodyParsers(deps.bodyLimitBytes));
    v1.use(flatShape());
    v1.use('/patients/verify', verifyRoutes(useCases));
    v1.use('/patients', callbackRequestRoutes(useCases));
    if (deps.api.closures) v1.use('/patients', patientNoticesRoutes(deps.api.closures));
    v1.use('/patients', patientsRoutes(useCases));
    v1.use('/appointments', appointmentsRoutes(useCases));
    v1.use('/slots', slotsRoutes(useCases));
    v1.use('/calls', callsRoutes(useCases));
    v1.use('/callbacks', callbacksRoutes(useCases));
    v1.use('/operations', operationsRoutes(useCases, replays));
    v1.use(
      '/status',
      statusRoutes(useCases, monitor, deps.api.events, deps.api.subscriberTenants, deps.api.statusHistory),
    );
    v1.use('/events', eventsRoutes(deps.api.events, deps.api.subscriberTenants));
    v1.use('/audit', auditRoutes(useCases));
    v1.use('/mappings', mappingReloadRoutes(useCases));
    v1.use('/mappings', mappingVersionsRoutes(useCases));
    v1.use('/crisis', crisisRoutes(useCases));
    v1.use('/notices', noticesRoutes(useCases));
    if (deps.api.closures) v1.use('/crisis/closures', closuresRoutes(deps.api.closures));
    if (deps.api.mappings) {
      const { workbench, catalog } = deps.api.mappings;
      v1.use(
        '/mappings',
        mappingsRoutes({
          connections: useCases.connections,
          workbench,
          ...(catalog !== undefined ? { mappingCatalog: catalog } : {}),
        }),
      );
    }
    app.use('/v1', v1);
    if (deps.api.queueDashboards) app.use('/admin/queues', queueDashboard(deps.api.queueDashboards));
    app.use('/webhooks/ehr', ehrWebhookRoutes(useCases, deps.api.webhookSchemes, deps.bodyLimitBytes));
  }

  app.use((_req, res) => {
    sendProblem(res, new ContinuumError('NOT_FOUND', { detail: 'no such route' }));
  });
  app.use(problemHandler(deps.logger));
  return app;
}
