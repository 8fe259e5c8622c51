/**
 * The authenticated caller of a request, as access control left it on `res.locals`: the client
 * and the tenant everything it reads and writes is confined to.
 */
import type { Response } from 'express';
import type { Principal, Tenant } from '../domain/access';

export interface Caller {
  readonly principal: Principal;
  readonly tenant: Tenant;
}

export function setCaller(res: Response, caller: Caller): void {
  res.locals.caller = caller;
}

export function callerOf(res: Response): Caller {
  const caller = res.locals.caller as Caller | undefined;
  // Only reachable if a route were mounted outside access control: fail closed.
  if (caller === undefined) throw new Error('route served without an authenticated caller');
  return caller;
}
