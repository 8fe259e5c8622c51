import type { NextFunction, Request, RequestHandler, Response } from 'express';

/** express 5 forwards rejected promises itself; this keeps handlers typed as returning void. */
export function route(
  handler: (req: Request, res: Response, next: NextFunction) => Promise<void>,
): RequestHandler {
  return (req, res, next) => {
    handler(req, res, next).catch(next);
  };
}
