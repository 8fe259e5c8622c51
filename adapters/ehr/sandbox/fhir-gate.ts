import type { Request, Router } from 'express';
import express from 'express';
import { outcome, sendJson, sendOutcome } from './fhir-http';
import type { SandboxAuth } from './sandbox-auth';
import { SANDBOX_TOKEN_PATH } from './token-endpoint';

/**
 * In front of the FHIR API when the sandbox requires OAuth: the SMART discovery document and
 * `/metadata` answer anyone, as on real servers; everything else needs a bearer token this sandbox
 * issued, still valid, of a client not revoked.
 */
export function createFhirGate(auth: SandboxAuth): Router {
  const router = express.Router();
  router.get('/.well-known/smart-configuration', (req, res) => {
    sendJson(res, 200, smartConfiguration(auth, tokenEndpointOf(req)));
  });
  router.use((req, res, next) => {
    if (req.path === '/metadata' && (req.method === 'GET' || req.method === 'HEAD')) {
      next();
      return;
    }
    if (auth.admit(req.get('authorization'))) {
      next();
      return;
    }
    res.setHeader('WWW-Authenticate', 'Bearer realm="continuum-sandbox", error="invalid_token"');
    sendOutcome(
      res,
      outcome('login', 'A valid access token from the token endpoint is required (Authorization: Bearer)'),
      401,
    );
  });
  return router;
}

/** The token endpoint as the client reached this server (the same host and scheme). */
export function tokenEndpointOf(req: Request): string {
  return `${req.protocol}://${req.get('host') ?? 'localhost'}${SANDBOX_TOKEN_PATH}`;
}

/** SMART App Launch's discovery document, limited to what a backend service needs. */
export function smartConfiguration(auth: SandboxAuth, tokenEndpoint: string): Record<string, unknown> {
  const asymmetric = auth.mode === 'smart-backend';
  return {
    token_endpoint: tokenEndpoint,
    token_endpoint_auth_methods_supported: asymmetric
      ? ['private_key_jwt']
      : ['client_secret_basic', 'client_secret_post'],
    ...(asymmetric ? { token_endpoint_auth_signing_alg_values_supported: [...auth.algorithms] } : {}),
    grant_types_supported: ['client_credentials'],
    scopes_supported: [...auth.scopes],
    capabilities: asymmetric ? ['client-confidential-asymmetric'] : ['client-confidential-symmetric'],
  };
}
