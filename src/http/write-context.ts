/** Idempotency and correlation headers every write route reads the same way. */
import type { Request, Response } from 'express';
import { validationError } from '../domain/errors';
import type { WriteContext } from '../use-cases/accept-write';
import { callerOf } from './caller';
import { allowedPriority } from './prefer-priority';

const KEY_PATTERN = /^[\x21-\x7e]{1,200}$/;

/**
 * The call-center's own id for the call (Amazon Connect ContactId, Genesys conversationId, Twilio
 * CallSid): from a header, or a `contactId` body field for tools that cannot set headers (Twilio
 * Studio). It correlates logs and, without an Idempotency-Key, makes the platform's own retries safe.
 */
function contactIdOf(req: Request): string | undefined {
  const fromHeader = req.get('x-contact-id') ?? req.get('x-call-id') ?? req.get('x-correlation-id');
  const body = req.body as Record<string, unknown> | undefined;
  const fromBody = typeof body?.contactId === 'string' ? body.contactId : undefined;
  const value = fromHeader ?? fromBody;
  if (value === undefined) return undefined;
  if (!KEY_PATTERN.test(value)) {
    throw validationError([{ field: 'contactId', message: 'must be 1 to 200 visible ASCII characters' }]);
  }
  return value;
}

export function writeContext(req: Request, res: Response): WriteContext {
  const key = req.get('idempotency-key');
  if (key !== undefined && !KEY_PATTERN.test(key)) {
    throw validationError([
      { field: 'Idempotency-Key', message: 'must be 1 to 200 visible ASCII characters' },
    ]);
  }
  const { principal, tenant } = callerOf(res);
  const requestedUrgency = allowedPriority(req, principal);
  return {
    owner: { clientId: principal.clientId, tenant: tenant.name },
    ...(tenant.locations !== undefined ? { locations: tenant.locations } : {}),
    idempotencyKey: key,
    correlationId: contactIdOf(req),
    requestId: res.locals.requestId as string | undefined,
    ...(requestedUrgency !== undefined ? { requestedUrgency } : {}),
  };
}

/** The write's own fields: the body without the call-center metadata read by writeContext. */
export function writeBody(req: Request): unknown {
  const body = (req.body ?? {}) as Record<string, unknown>;
  if (typeof body !== 'object' || Array.isArray(body)) return body;
  const { contactId: _contactId, ...rest } = body;
  return rest;
}

/** `If-Match: W/"3"` or `"3"` -> `3`. */
export function ifMatchVersion(req: Request): string | undefined {
  const header = req.get('if-match');
  if (header === undefined) return undefined;
  const match = /^\s*(?:W\/)?"([^"]{1,64})"\s*$/.exec(header);
  if (!match?.[1])
    throw validationError([{ field: 'If-Match', message: 'must be an entity tag such as W/"3"' }]);
  return match[1];
}
