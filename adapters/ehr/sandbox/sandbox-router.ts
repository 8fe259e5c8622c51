import type { ErrorRequestHandler, Request, RequestHandler, Router } from 'express';
import express from 'express';
import { FhirRouter } from '@medplum/fhir-router';
import { buildCapabilityStatement } from './capability-statement';
import { createFhirHandler } from './fhir-handler';
import { JSON_BODY_TYPES, fhirBaseUrl, outcome, sendJson, sendOutcome } from './fhir-http';
import type { SandboxRepository } from './sandbox-repository';
import { SerialExecutor } from './serial-executor';
import type { SandboxLogger } from './types';

/** Bundles of a few hundred resources fit easily; larger bodies are refused with 413 like a real server. */
const BODY_LIMIT = '5mb';

export interface SandboxRouterOptions {
  readonly repo: SandboxRepository;
  readonly logger?: SandboxLogger | undefined;
  /**
   * Runs after body parsing and before any FHIR handling, `/metadata` included: the seam for behaviour that
   * sits in front of the EHR (fault injection such as down/slow/flaky, request taps). Each may answer the
   * request itself or call `next()`.
   */
  readonly middleware?: readonly RequestHandler[];
  /** When the sandbox requires OAuth: its token endpoint as this request reached it, for `/metadata`. */
  readonly tokenEndpoint?: ((req: Request) => string) | undefined;
  /** Once true, every request is answered 503, as an EHR that has shut down would. */
  readonly isClosed?: () => boolean;
}

/**
 * The FHIR API as an express Router serving at its own root. It parses its own bodies (FHIR JSON, JSON
 * Patch, search forms), so the host app must mount it before any global body parser.
 */
export function createSandboxRouter(options: SandboxRouterOptions): Router {
  const router = express.Router();
  const startedAt = new Date().toISOString();
  router.use(express.json({ type: JSON_BODY_TYPES, limit: BODY_LIMIT }));
  router.use(express.urlencoded({ extended: false, limit: BODY_LIMIT }));
  router.use((_req, res, next) => {
    if (options.isClosed?.()) {
      sendOutcome(res, outcome('transient', 'The sandbox EHR is closed'), 503);
      return;
    }
    next();
  });
  for (const middleware of options.middleware ?? []) {
    router.use(middleware);
  }
  router.get('/metadata', (req, res) => {
    sendJson(res, 200, buildCapabilityStatement(fhirBaseUrl(req), startedAt, options.tokenEndpoint?.(req)));
  });
  router.use(
    createFhirHandler({
      repo: options.repo,
      engine: new FhirRouter(),
      executor: new SerialExecutor(),
      logger: options.logger,
    }),
  );
  router.use(bodyErrorHandler);
  return router;
}

/** Malformed JSON, oversized or wrongly encoded bodies: answered with an OperationOutcome, not HTML. */
const bodyErrorHandler: ErrorRequestHandler = (err: unknown, _req, res, next) => {
  if (res.headersSent) {
    next(err);
    return;
  }
  const status = statusOf(err);
  if (status === 413) {
    sendOutcome(res, outcome('too-costly', `Request body larger than ${BODY_LIMIT}`), 413);
  } else if (status >= 400 && status < 500) {
    const text = err instanceof Error ? err.message : 'Unreadable request body';
    sendOutcome(res, outcome(status === 415 ? 'not-supported' : 'invalid', text), status);
  } else {
    next(err);
  }
};

function statusOf(err: unknown): number {
  const status: unknown = (err as { status?: unknown } | null)?.status;
  return typeof status === 'number' ? status : 500;
}
