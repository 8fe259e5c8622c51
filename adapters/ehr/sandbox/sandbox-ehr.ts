import type { Router } from 'express';
import { createSandboxAdminRouter } from './admin-router';
import type { SandboxAuthOptions } from './auth-options';
import { createFhirGate, tokenEndpointOf } from './fhir-gate';
import type { SandboxAuthControl } from './sandbox-auth';
import { SandboxAuth } from './sandbox-auth';
import { createTokenEndpoint } from './token-endpoint';
import type { FaultModeInput } from './fault-mode';
import { createFaultMiddleware } from './fault-middleware';
import type { CapacityControl } from './capacity-gate';
import type { FaultControl } from './fault-switch';
import { FaultSwitch } from './fault-switch';
import { ensureFhirSchemaIndexed } from './fhir-schema';
import { SandboxRepository } from './sandbox-repository';
import { createSandboxRouter } from './sandbox-router';
import { seedSandbox } from './seed';
import { SubscriptionDelivery } from './subscription-delivery';
import type { SandboxLogger } from './types';

export interface SandboxEhrOptions {
  /** "Now" for the seed data (default: the current time). Same `today` + same `seed` = same data. */
  today?: Date;
  seed?: number;
  /** Default 240. */
  patientCount?: number;
  logger?: SandboxLogger;
  /** The fault mode to start in (default `up`); see `parseFaultSpec` for the command line's short form. */
  faults?: FaultModeInput;
  /** Require OAuth tokens on the FHIR API, as real EHRs do (default: mode `none`, no tokens). */
  auth?: SandboxAuthOptions;
}

export interface SandboxEhr {
  /** express Router serving the FHIR API at its root; the gateway mounts it at /sandbox/fhir. */
  readonly router: Router;
  /**
   * express Router of the control API (`/faults`, `/capacity`, `/auth`); the gateway mounts it at
   * /sandbox/admin. Never faulted.
   */
  readonly adminRouter: Router;
  /** Staged EHR outages for demos, drills and tests: `down`, `slow`, `flaky`, `capacity`, back to `up`. */
  readonly faults: FaultControl;
  /** The `capacity` mode's figures (served, 429s, in flight, waiting, latency percentiles) and their reset. */
  readonly capacity: CapacityControl;
  /**
   * The OAuth token endpoint (`POST /token`), mounted at /sandbox/auth; undefined when the sandbox
   * requires no tokens (auth mode `none`).
   */
  readonly authRouter: Router | undefined;
  /** The client's state for drills (revoke, restore, invalidate tokens) and the token counters. */
  readonly auth: SandboxAuthControl;
  /** Counts by resource type, for logs and tests. */
  stats(): Record<string, number>;
  /**
   * Stops serving (every request is answered 503), drops pending subscription notifications and aborts
   * those in flight, then clears the data. Resolves once no delivery is running.
   */
  close(): Promise<void>;
}

/** A seeded, in-memory FHIR R4 EHR behind an express Router. Each call gets its own independent data. */
export async function createSandboxEhr(options: SandboxEhrOptions = {}): Promise<SandboxEhr> {
  // Validated first, so a bad initial mode fails at once rather than after seeding.
  const faults = new FaultSwitch({ logger: options.logger, initial: options.faults });
  const auth = new SandboxAuth(options.auth ?? { mode: 'none', tokenLifetimeSeconds: 300 }, {
    logger: options.logger,
  });
  const indexStarted = performance.now();
  ensureFhirSchemaIndexed();
  const indexMs = Math.round(performance.now() - indexStarted);
  const repo = new SandboxRepository();
  const seeded = await seedSandbox(repo, options);
  options.logger?.info(
    { counts: seeded.counts, seedMs: seeded.durationMs, schemaIndexMs: indexMs },
    'sandbox EHR seeded',
  );
  // Rest-hook notifications for Subscriptions created through the FHIR API, after each committed write.
  // Outbound only: the fault switch, which acts on inbound requests, does not reach them.
  const delivery = new SubscriptionDelivery({ logger: options.logger });
  repo.onCommit((resource) => {
    delivery.committed(resource, repo.storedResources('Subscription'));
  });
  const capacity: CapacityControl = {
    get: () => faults.capacityState(),
    reset: () => faults.resetCapacity(),
  };
  let closed = false;
  const router = createSandboxRouter({
    repo,
    logger: options.logger,
    isClosed: () => closed,
    tokenEndpoint: auth.enabled ? tokenEndpointOf : undefined,
    // Faults first: an EHR that is down refuses the connection before it looks at any token.
    middleware: [createFaultMiddleware(faults), ...(auth.enabled ? [createFhirGate(auth)] : [])],
  });
  return {
    router,
    adminRouter: createSandboxAdminRouter(faults, capacity, auth),
    faults: { set: (mode) => faults.set(mode), get: () => faults.get(), reset: () => faults.reset() },
    capacity,
    authRouter: auth.enabled ? createTokenEndpoint(auth) : undefined,
    auth: { get: () => auth.get(), set: (change) => auth.set(change) },
    stats: () => repo.counts(),
    close: async () => {
      closed = true;
      await delivery.close();
      repo.clear();
    },
  };
}
