/**
 * Access control in front of every route: the route table says what a route needs; a request
 * without a valid credential gets 401 (with WWW-Authenticate), one without the route's scope gets
 * 403. Both are decided before any handler runs, so neither can say whether a patient exists.
 * A request the table does not know is refused too: nothing is served by accident.
 */
import type { Request, RequestHandler, Response } from 'express';
import type { Principal, Tenant } from '../domain/access';
import { ContinuumError, isContinuumError } from '../domain/errors';
import type { Logger } from '../domain/ports';
import type { Credential } from '../use-cases/client-authentication';
import { setCaller } from './caller';
import { credentialOf } from './credentials';
import { setMatchedRoute } from './matched-route';
import { sendProblem } from './problem';
import { scopesOf, type RouteMatcher } from './route-table';

export interface AccessControlDeps {
  readonly routes: RouteMatcher;
  readonly tenants: ReadonlyMap<string, Tenant>;
  /** Undefined for a credential that names no active client; throws UNAUTHORIZED for a bad token. */
  authenticate(credential: Credential): Promise<Principal | undefined>;
}

const REALM = 'realm="continuum"';

/** Where a browser is asked for credentials: the queue dashboard, a page with no sign-in form. */
const BROWSER_SIGN_IN = '/admin/queues';
const BROWSER_REALM = 'realm="continuum queues"';

function refuse(
  req: Request,
  res: Response,
  detail: string,
  error?: 'invalid_request' | 'invalid_token',
): void {
  const bearer = error === undefined ? `Bearer ${REALM}` : `Bearer ${REALM}, error="${error}"`;
  if (req.path === BROWSER_SIGN_IN || req.path.startsWith(`${BROWSER_SIGN_IN}/`)) {
    // A browser reads only the first challenge of a line, and Bearer means nothing to it: on a line
    // of its own, Basic makes it ask for a client id and key. Only here, under a realm of its own:
    // credentials a browser keeps for a realm it resends on that realm's next 401, so a challenge
    // it answered on every route would let another site's form ride on an operator's sign-in.
    res.setHeader('WWW-Authenticate', [bearer, `Basic ${BROWSER_REALM}, charset="UTF-8"`]);
  } else {
    // API clients read every challenge of the line; a browser, seeing Bearer first, asks nothing.
    res.setHeader('WWW-Authenticate', `${bearer}, Basic ${REALM}, charset="UTF-8"`);
  }
  sendProblem(res, new ContinuumError('UNAUTHORIZED', { detail }));
}

export function accessControl(deps: AccessControlDeps): RequestHandler {
  return (req, res, next) => {
    // A CORS preflight from an allowed origin was answered by cors() before this; any other
    // OPTIONS is a request like the rest, and the route table has none.
    const matched = deps.routes.resolve(req.method, req.path);
    setMatchedRoute(res, matched);
    const route = matched?.spec;
    if (route?.access === 'public') {
      next();
      return;
    }
    const parsed = credentialOf(req);
    if (parsed.kind === 'none') {
      refuse(
        req,
        res,
        'send an API key (Authorization: Bearer or X-API-Key), Basic client credentials or an access token',
      );
      return;
    }
    if (parsed.kind === 'malformed') {
      refuse(req, res, parsed.reason, 'invalid_request');
      return;
    }
    deps.authenticate(parsed.credential).then(
      (principal) => {
        if (principal === undefined) {
          refuse(req, res, 'the credential is not valid, or was revoked', 'invalid_token');
          return;
        }
        const tenant = deps.tenants.get(principal.tenant);
        if (tenant === undefined) {
          sendProblem(
            res,
            new ContinuumError('FORBIDDEN', { detail: "the client's tenant is not configured" }),
          );
          return;
        }
        if (route === undefined) {
          sendProblem(res, new ContinuumError('NOT_FOUND', { detail: 'no such route' }));
          return;
        }
        const opening = route.access === 'public' ? [] : scopesOf(route.access);
        if (opening.length > 0 && !opening.some((scope) => principal.scopes.has(scope))) {
          // RFC 6750's scope lists what is needed together; any one of these opens the route.
          const needed = opening[0] ?? '';
          res.setHeader('WWW-Authenticate', `Bearer ${REALM}, error="insufficient_scope", scope="${needed}"`);
          sendProblem(
            res,
            new ContinuumError('FORBIDDEN', {
              detail: `this client lacks the scope ${opening.join(' or ')}`,
              extra: { requiredScope: needed, ...(opening.length > 1 ? { anyOfScopes: opening } : {}) },
            }),
          );
          return;
        }
        setCaller(res, { principal, tenant });
        res.locals.logger = (res.locals.logger as Logger).child({ clientId: principal.clientId });
        next();
      },
      (error: unknown) => {
        if (isContinuumError(error) && error.code === 'UNAUTHORIZED') {
          refuse(req, res, error.detail ?? 'the access token is not valid', 'invalid_token');
          return;
        }
        // The client registry could not be asked (Redis away): neither admitted nor refused for good.
        next(
          isContinuumError(error)
            ? error
            : new ContinuumError('NOT_READY', {
                cause: error,
                detail: 'the credential cannot be checked right now',
                retryAfterSeconds: 1,
              }),
        );
      },
    );
  };
}
