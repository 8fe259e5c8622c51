import type { Request, Router } from 'express';
import express from 'express';
import type { SandboxAuth, TokenRequest } from './sandbox-auth';

/** Where the token endpoint lives, in the gateway and stand-alone alike (next to /sandbox/fhir). */
export const SANDBOX_AUTH_PATH = '/sandbox/auth';
export const SANDBOX_TOKEN_PATH = `${SANDBOX_AUTH_PATH}/token`;

/**
 * The sandbox's OAuth 2.0 token endpoint (`POST /token`, form-encoded), served at its own root: the
 * client-credentials grant with the client authenticated by secret (Basic or in the body) or by a
 * signed assertion, answered as RFC 6749 section 5 says.
 */
export function createTokenEndpoint(auth: SandboxAuth): Router {
  const router = express.Router();
  router.post('/token', express.urlencoded({ extended: false, limit: '16kb' }), (req, res, next) => {
    auth.token(tokenRequestOf(req)).then(
      (answer) => {
        res.setHeader('Cache-Control', 'no-store');
        res.setHeader('Pragma', 'no-cache');
        if (answer.status === 401 && answer.basicChallenge) {
          res.setHeader('WWW-Authenticate', 'Basic realm="continuum-sandbox", charset="UTF-8"');
        }
        res.status(answer.status).json(answer.body);
      },
      (error: unknown) => {
        next(error);
      },
    );
  });
  router.use(((error: unknown, _req, res, next) => {
    // A body the form parser refused (too large, bad charset): still an RFC 6749 answer, not HTML.
    const status = (error as { status?: unknown } | null)?.status;
    if (res.headersSent || typeof status !== 'number' || status >= 500) {
      next(error);
      return;
    }
    res.status(400).json({ error: 'invalid_request', error_description: 'the body is not a readable form' });
  }) as express.ErrorRequestHandler);
  return router;
}

function field(body: unknown, name: string): string | undefined {
  const value = (body as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' ? value : undefined;
}

function tokenRequestOf(req: Request): TokenRequest {
  const body: unknown = req.body;
  return {
    grantType: field(body, 'grant_type'),
    scope: field(body, 'scope'),
    basic: basicOf(req.get('authorization')),
    clientId: field(body, 'client_id'),
    clientSecret: field(body, 'client_secret'),
    assertionType: field(body, 'client_assertion_type'),
    assertion: field(body, 'client_assertion'),
    endpointUrl: `${req.protocol}://${req.get('host') ?? 'localhost'}${req.baseUrl}${req.path}`,
  };
}

/** RFC 6749 2.3.1: `Basic base64(urlencode(id) ":" urlencode(secret))`. */
function basicOf(header: string | undefined): { id: string; secret: string } | null | undefined {
  if (header === undefined) return undefined;
  const encoded = /^Basic ([A-Za-z0-9+/]+=*)$/i.exec(header.trim())?.[1];
  if (encoded === undefined) return null;
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return null;
  const decode = (part: string): string => {
    try {
      return decodeURIComponent(part.replace(/\+/g, ' '));
    } catch {
      return part;
    }
  };
  return { id: decode(decoded.slice(0, colon)), secret: decode(decoded.slice(colon + 1)) };
}
