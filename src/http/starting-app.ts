/** What the HTTP server answers before the gateway is built: 503 NOT_READY as problem+json, with a request id. */
import express, { type Express } from 'express';
import { ContinuumError } from '../domain/errors';
import type { Logger } from '../domain/ports';
import { sendProblem } from './problem';
import { requestContext } from './request-context';
import { securityHeaders } from './security-headers';

export function createStartingApp(logger: Logger): Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(requestContext(logger));
  app.use(securityHeaders());
  app.use((_req, res) => {
    sendProblem(
      res,
      new ContinuumError('NOT_READY', { detail: 'the gateway is starting', retryAfterSeconds: 1 }),
    );
  });
  return app;
}
