/**
 * `Prefer: priority=urgent|routine` (RFC 7240) on a write. `urgent` puts the write's lane ahead of
 * routine work and needs the `writes:urgent` scope: a caller without it is refused, not silently
 * served as routine, so a supervisor tool set up with the wrong client learns it at once.
 * `routine` needs no scope: it can only lower a write's place (a bulk re-import of bookings that
 * must not overtake live calls).
 */
import type { Request } from 'express';
import type { Principal, Scope } from '../domain/access';
import { ContinuumError, validationError } from '../domain/errors';
import { URGENCIES, type Urgency } from '../domain/urgency';

const URGENT_SCOPE: Scope = 'writes:urgent';

function isUrgency(value: string): value is Urgency {
  return (URGENCIES as readonly string[]).includes(value);
}

/** The priority the request asks for, undefined when it asks for none. */
export function preferredPriority(req: Request): Urgency | undefined {
  const header = req.get('prefer');
  if (header === undefined) return undefined;
  const match = /(?:^|[;,\s])priority\s*=\s*"?([A-Za-z-]*)"?/i.exec(header);
  if (match === null) return undefined;
  const value = (match[1] ?? '').toLowerCase();
  if (!isUrgency(value)) {
    throw validationError([{ field: 'Prefer', message: `priority must be one of ${URGENCIES.join(', ')}` }]);
  }
  return value;
}

/** The requested priority, refused with 403 when the caller may not ask for it. */
export function allowedPriority(req: Request, principal: Principal): Urgency | undefined {
  const requested = preferredPriority(req);
  if (requested === 'urgent' && !principal.scopes.has(URGENT_SCOPE)) {
    throw new ContinuumError('FORBIDDEN', {
      detail: `Prefer: priority=urgent needs the ${URGENT_SCOPE} scope; nothing was taken`,
      extra: { requiredScope: URGENT_SCOPE },
    });
  }
  return requested;
}
