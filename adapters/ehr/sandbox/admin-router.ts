import type { ErrorRequestHandler, Response, Router } from 'express';
import express from 'express';
import type { FaultFieldProblem } from './fault-mode';
import { FaultModeError } from './fault-mode';
import type { CapacityControl } from './capacity-gate';
import type { FaultControl } from './fault-switch';
import type { SandboxAuthControl } from './sandbox-auth';

/** The same problem types the gateway's API uses, so a client reads both the same way. */
const PROBLEM_TYPE_BASE = 'https://continuum.dev/problems/';

/**
 * The sandbox's control API, served at its own root (`/faults`); the gateway mounts it at /sandbox/admin.
 * It sits outside the FHIR router, so no fault mode can make it unreachable. `/auth` shows the OAuth
 * client's state and token counters, and revokes, restores or invalidates its tokens for drills. `/capacity`
 * shows the `capacity` mode's figures; `POST /capacity/reset` starts a new measuring window.
 */
export function createSandboxAdminRouter(
  faults: FaultControl,
  capacity: CapacityControl,
  auth: SandboxAuthControl,
): Router {
  const router = express.Router();
  router
    .route('/capacity')
    .get((_req, res) => {
      res.json(capacity.get());
    })
    .all((_req, res) => {
      res.setHeader('Allow', 'GET');
      sendProblem(res, 405, 'METHOD_NOT_ALLOWED', [{ field: '(method)', message: 'use GET' }]);
    });
  // A read and a reset in one answer: no request falls between reading one window and starting the next.
  router
    .route('/capacity/reset')
    .post((_req, res) => {
      res.json(capacity.reset());
    })
    .all((_req, res) => {
      res.setHeader('Allow', 'POST');
      sendProblem(res, 405, 'METHOD_NOT_ALLOWED', [{ field: '(method)', message: 'use POST' }]);
    });
  router
    .route('/auth')
    .get((_req, res) => {
      res.json(auth.get());
    })
    .post(express.json({ type: () => true, limit: '16kb' }), (req, res) => {
      const body: unknown = req.body;
      if (body === undefined) {
        sendProblem(res, 400, 'MALFORMED_BODY', [
          { field: '(body)', message: 'expected a JSON object such as {"revoked":true}' },
        ]);
        return;
      }
      try {
        res.json(auth.set(body as Parameters<SandboxAuthControl['set']>[0]));
      } catch (error) {
        if (!(error instanceof FaultModeError)) {
          throw error;
        }
        sendProblem(res, 400, 'VALIDATION', error.problems);
      }
    })
    .all((_req, res) => {
      res.setHeader('Allow', 'GET, POST');
      sendProblem(res, 405, 'METHOD_NOT_ALLOWED', [{ field: '(method)', message: 'use GET or POST' }]);
    });
  router
    .route('/faults')
    .get((_req, res) => {
      res.json(faults.get());
    })
    // Any content type is read as JSON: `curl -d '{"mode":"down"}'` sends a form type by default.
    .post(express.json({ type: () => true, limit: '16kb' }), (req, res) => {
      const body: unknown = req.body;
      if (body === undefined) {
        sendProblem(res, 400, 'MALFORMED_BODY', [
          { field: '(body)', message: 'expected a JSON object such as {"mode":"down"}' },
        ]);
        return;
      }
      try {
        res.json(faults.set(body as Parameters<FaultControl['set']>[0]));
      } catch (error) {
        if (!(error instanceof FaultModeError)) {
          throw error;
        }
        sendProblem(res, 400, 'VALIDATION', error.problems);
      }
    })
    .delete((_req, res) => {
      res.json(faults.reset());
    })
    .all((_req, res) => {
      res.setHeader('Allow', 'GET, POST, DELETE');
      sendProblem(res, 405, 'METHOD_NOT_ALLOWED', [
        { field: '(method)', message: 'use GET, POST or DELETE' },
      ]);
    });
  router.use(bodyErrorHandler);
  return router;
}

const bodyErrorHandler: ErrorRequestHandler = (error: unknown, _req, res, next) => {
  const type = (error as { type?: unknown } | null)?.type;
  if (res.headersSent || typeof type !== 'string') {
    next(error);
    return;
  }
  if (type === 'entity.too.large') {
    sendProblem(res, 413, 'PAYLOAD_TOO_LARGE', [{ field: '(body)', message: 'larger than 16 KB' }]);
  } else {
    sendProblem(res, 400, 'MALFORMED_BODY', [{ field: '(body)', message: 'is not valid JSON' }]);
  }
};

const TITLES: Record<number, string> = {
  400: 'The request is not valid',
  405: 'Method not allowed',
  413: 'The request body is too large',
};

function sendProblem(
  res: Response,
  status: number,
  code: string,
  problems: readonly FaultFieldProblem[],
): void {
  const requestId: unknown = res.locals.requestId;
  res
    .status(status)
    .type('application/problem+json')
    .send(
      JSON.stringify({
        type: `${PROBLEM_TYPE_BASE}${code.toLowerCase().replace(/_/g, '-')}`,
        title: TITLES[status] ?? 'Error',
        status,
        detail: problems.map((p) => `${p.field}: ${p.message}`).join('; '),
        code,
        retryable: false,
        ...(typeof requestId === 'string' ? { requestId } : {}),
        errors: problems,
      }),
    );
}
