/**
 * JSON and form bodies (IVR tools such as Twilio Studio and NICE send
 * application/x-www-form-urlencoded). A body in any other type is refused with 415 rather than
 * silently read as empty.
 */
import express, { type RequestHandler } from 'express';
import { ContinuumError } from '../domain/errors';

export function bodyParsers(limitBytes: number): RequestHandler[] {
  const json = express.json({
    limit: limitBytes,
    type: ['application/json', 'application/*+json'],
    strict: true,
  });
  const form = express.urlencoded({ limit: limitBytes, extended: true, parameterLimit: 200 });
  const refuseOthers: RequestHandler = (req, _res, next) => {
    const hasBody = req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0';
    const chunked = req.headers['transfer-encoding'] !== undefined;
    if (
      (hasBody || chunked) &&
      !req.is(['application/json', 'application/*+json', 'application/x-www-form-urlencoded'])
    ) {
      next(
        new ContinuumError('UNSUPPORTED_MEDIA_TYPE', {
          detail: 'send application/json or application/x-www-form-urlencoded',
        }),
      );
      return;
    }
    next();
  };
  return [refuseOthers, json, form];
}
