/**
 * OAuth 2.0 client credentials (RFC 6749 section 4.4): POST /oauth/token issues a short-lived
 * signed access token to a client that authenticates with `client_secret_basic` or
 * `client_secret_post`; /.well-known/jwks.json publishes the keys that verify it. Answers and
 * errors use the RFC's JSON format, not problem+json: OAuth client libraries read `error`.
 */
import express, { Router, type Request, type Response } from 'express';
import {
  isScope,
  type ClientInfo,
  type ClientRegistry,
  type Scope,
  type TokenService,
} from '../../domain/access';
import { isContinuumError } from '../../domain/errors';
import { credentialOf } from '../credentials';
import { route } from '../async-route';

type OAuthError = 'invalid_request' | 'invalid_client' | 'unsupported_grant_type' | 'invalid_scope';

function oauthError(res: Response, status: number, error: OAuthError, description: string): void {
  if (error === 'invalid_client')
    res.setHeader('WWW-Authenticate', 'Basic realm="continuum", charset="UTF-8"');
  res.status(status).json({ error, error_description: description });
}

function field(body: Record<string, unknown>, name: string): string | undefined {
  const value = body[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** The client's id and secret, from Basic or from the body; never both (RFC 6749 2.3.1). */
function clientCredentials(
  req: Request,
  body: Record<string, unknown>,
): { id: string; secret: string } | { problem: string } {
  const header = credentialOf(req);
  const bodyId = field(body, 'client_id');
  const bodySecret = field(body, 'client_secret');
  if (header.kind === 'present' && header.credential.kind === 'basic') {
    if (bodySecret !== undefined) return { problem: 'send the client secret one way, not two' };
    return { id: header.credential.clientId, secret: header.credential.secret };
  }
  if (header.kind !== 'none')
    return { problem: 'authenticate the client with Basic or client_id and client_secret' };
  if (bodyId === undefined || bodySecret === undefined) {
    return { problem: 'client authentication is required (Basic, or client_id and client_secret)' };
  }
  return { id: bodyId, secret: bodySecret };
}

function requestedScopes(raw: string | undefined): readonly Scope[] | undefined | 'invalid' {
  if (raw === undefined) return undefined;
  const names = raw.split(' ').filter((s) => s !== '');
  return names.every(isScope) ? names : 'invalid';
}

export function oauthRoutes(registry: ClientRegistry, tokens: TokenService, bodyLimitBytes: number): Router {
  const router = Router();
  router.get('/.well-known/jwks.json', (_req, res) => {
    res.setHeader('Cache-Control', 'public, max-age=300');
    res.json(tokens.jwks());
  });

  router.post(
    '/oauth/token',
    express.urlencoded({ extended: false, limit: Math.min(bodyLimitBytes, 16_384), parameterLimit: 20 }),
    express.json({ limit: Math.min(bodyLimitBytes, 16_384) }),
    route(async (req, res) => {
      res.setHeader('Cache-Control', 'no-store');
      res.setHeader('Pragma', 'no-cache');
      const body = (typeof req.body === 'object' && req.body !== null ? req.body : {}) as Record<
        string,
        unknown
      >;
      const grant = field(body, 'grant_type');
      if (grant === undefined) {
        oauthError(res, 400, 'invalid_request', 'grant_type is required');
        return;
      }
      if (grant !== 'client_credentials') {
        oauthError(res, 400, 'unsupported_grant_type', 'only client_credentials is supported');
        return;
      }
      const credentials = clientCredentials(req, body);
      if ('problem' in credentials) {
        oauthError(res, 401, 'invalid_client', credentials.problem);
        return;
      }
      const client: ClientInfo | undefined = await registry.authenticate(credentials.secret, credentials.id);
      if (client === undefined) {
        oauthError(res, 401, 'invalid_client', 'the client is unknown, revoked, or the secret is wrong');
        return;
      }
      const scopes = requestedScopes(field(body, 'scope'));
      if (scopes === 'invalid') {
        oauthError(res, 400, 'invalid_scope', 'a requested scope does not exist');
        return;
      }
      try {
        const issued = await tokens.issue(client, scopes);
        res.json({
          access_token: issued.accessToken,
          token_type: 'Bearer',
          expires_in: issued.expiresIn,
          scope: issued.scopes.join(' '),
        });
      } catch (error) {
        if (isContinuumError(error) && error.extra?.oauthError === 'invalid_scope') {
          oauthError(res, 400, 'invalid_scope', 'a requested scope is not granted to this client');
          return;
        }
        throw error;
      }
    }),
  );
  return router;
}
