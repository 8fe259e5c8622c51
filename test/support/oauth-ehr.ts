/**
 * An EHR that signs its clients in as Epic or Medplum do, on loopback: an OAuth 2.0 token endpoint
 * (client credentials with a secret, Basic or form; or SMART Backend Services, whose client
 * assertion it verifies with jose against the client's JWKS URL, fetched over HTTP each time),
 * `/.well-known/smart-configuration`, and a FHIR endpoint that takes only the tokens it issued
 * and forwards to a stand-alone sandbox EHR. Tests read what it saw and switch its behaviour.
 */
import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import type { JWTHeaderParameters, JWTPayload } from 'jose';
import { startSandboxServer, type SandboxServer } from '../../adapters/ehr/sandbox';

export interface TokenCall {
  readonly at: number;
  /** How the client authenticated. */
  readonly method: 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt' | 'none';
  readonly scope: string | undefined;
  readonly header?: JWTHeaderParameters;
  readonly payload?: JWTPayload;
  /** The client assertion as sent (tests look for it in logs). */
  readonly assertion?: string;
  /** Why the endpoint refused it; undefined when it issued a token. */
  readonly refused?: string;
  readonly issued?: string;
}

export interface FhirCall {
  readonly at: number;
  readonly method: string;
  readonly path: string;
  readonly token: string | undefined;
  readonly status: number;
}

export type TokenEndpointMode = 'up' | 'revoked' | 'http503' | 'closed';

export interface OAuthEhr {
  readonly fhirBase: string;
  readonly tokenUrl: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly tokenCalls: TokenCall[];
  readonly fhirCalls: FhirCall[];
  /** SMART only: where the client's keys are (the gateway's /.well-known/jwks.json). */
  setJwksUrl(url: string): void;
  setTokenLifetime(seconds: number): void;
  setTokenEndpoint(mode: TokenEndpointMode): void;
  /** The EHR stops taking every token issued so far (as after a key rotation on its side). */
  forgetIssuedTokens(): void;
  /** The FHIR endpoint answers 403 to every token from now on (a registration without access). */
  setFhirForbidden(forbidden: boolean): void;
  /** A patient id the sandbox holds. */
  readonly patientIds: readonly string[];
  close(): Promise<void>;
}

const SANDBOX_TOKEN = `sandbox-${randomBytes(12).toString('hex')}`;

export async function startOAuthEhr(options: {
  readonly kind: 'smart-backend' | 'client-credentials';
  readonly clientId?: string;
  readonly tokenLifetimeSeconds?: number;
}): Promise<OAuthEhr> {
  const sandbox: SandboxServer = await startSandboxServer({
    port: 0,
    token: SANDBOX_TOKEN,
    patientCount: 12,
  });
  const clientId = options.clientId ?? `client-${randomBytes(4).toString('hex')}`;
  const clientSecret = `secret-${randomBytes(16).toString('hex')}`;
  const tokenCalls: TokenCall[] = [];
  const fhirCalls: FhirCall[] = [];
  const issued = new Map<string, number>();
  const seenJti = new Set<string>();
  let lifetime = options.tokenLifetimeSeconds ?? 300;
  let mode: TokenEndpointMode = 'up';
  let forbidden = false;
  let jwks: ReturnType<typeof createRemoteJWKSet> | undefined;

  const app = express();
  let origin = '';
  const tokenPath = '/oauth2/token';

  app.get('/fhir/.well-known/smart-configuration', (_req, res) => {
    res.json({
      token_endpoint: `${origin}${tokenPath}`,
      token_endpoint_auth_methods_supported: ['private_key_jwt', 'client_secret_basic', 'client_secret_post'],
      grant_types_supported: ['client_credentials'],
    });
  });

  app.post(tokenPath, express.urlencoded({ extended: false }), (req, res) => {
    void (async () => {
      const body = req.body as Record<string, string | undefined>;
      const at = Date.now();
      if (mode === 'closed') {
        tokenCalls.push({ at, method: 'none', scope: body.scope, refused: 'connection closed' });
        req.socket.destroy();
        return;
      }
      if (mode === 'http503') {
        tokenCalls.push({ at, method: 'none', scope: body.scope, refused: 'answered 503' });
        res.status(503).json({ error: 'temporarily_unavailable' });
        return;
      }
      const refuse = (call: Omit<TokenCall, 'at' | 'refused'>, why: string, status = 400): void => {
        tokenCalls.push({ ...call, at, refused: why });
        res.status(status).json({ error: 'invalid_client', error_description: why });
      };
      let call: Omit<TokenCall, 'at' | 'refused'>;
      if (options.kind === 'smart-backend') {
        const assertion = body.client_assertion ?? '';
        let header: JWTHeaderParameters | undefined;
        let payload: JWTPayload | undefined;
        try {
          header = decodeProtectedHeader(assertion) as JWTHeaderParameters;
          payload = decodeJwt(assertion);
        } catch {
          refuse({ method: 'none', scope: body.scope }, 'no client assertion');
          return;
        }
        call = { method: 'private_key_jwt', scope: body.scope, header, payload, assertion };
        if (body.grant_type !== 'client_credentials') return refuse(call, 'grant_type');
        if (body.client_assertion_type !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer')
          return refuse(call, 'client_assertion_type');
        if (jwks === undefined) return refuse(call, 'no JWKS URL registered');
        try {
          await jwtVerify(assertion, jwks, {
            issuer: clientId,
            subject: clientId,
            audience: `${origin}${tokenPath}`,
            algorithms: ['ES384', 'RS384'],
            typ: 'JWT',
            requiredClaims: ['exp', 'jti', 'iat'],
          });
        } catch (error) {
          return refuse(call, `assertion: ${(error as Error).message}`);
        }
        if ((payload.exp ?? 0) - Math.floor(at / 1000) > 300)
          return refuse(call, 'exp more than 5 minutes away');
        if (seenJti.has(String(payload.jti))) return refuse(call, 'jti replayed');
        seenJti.add(String(payload.jti));
      } else {
        const basic = /^Basic (.+)$/.exec(req.get('authorization') ?? '')?.[1];
        let id: string | undefined;
        let secret: string | undefined;
        if (basic !== undefined) {
          const [rawId, rawSecret] = Buffer.from(basic, 'base64').toString('utf8').split(':');
          id = decodeURIComponent((rawId ?? '').replace(/\+/g, ' '));
          secret = decodeURIComponent((rawSecret ?? '').replace(/\+/g, ' '));
          call = { method: 'client_secret_basic', scope: body.scope };
        } else {
          id = body.client_id;
          secret = body.client_secret;
          call = {
            method: body.client_secret === undefined ? 'none' : 'client_secret_post',
            scope: body.scope,
          };
        }
        if (body.grant_type !== 'client_credentials') return refuse(call, 'grant_type');
        if (id !== clientId || secret !== clientSecret) return refuse(call, 'wrong client or secret', 401);
      }
      if (mode === 'revoked') return refuse(call, 'client revoked');
      const token = `at-${randomBytes(24).toString('base64url')}`;
      issued.set(token, at + lifetime * 1000);
      tokenCalls.push({ ...call, at, issued: token });
      res.setHeader('cache-control', 'no-store');
      res.json({ access_token: token, token_type: 'Bearer', expires_in: lifetime, scope: body.scope });
    })();
  });

  app.use('/fhir', (req, res) => {
    const token = /^Bearer (.+)$/.exec(req.get('authorization') ?? '')?.[1];
    const expiresAt = token === undefined ? undefined : issued.get(token);
    const record = (status: number): void => {
      fhirCalls.push({ at: Date.now(), method: req.method, path: req.path, token, status });
    };
    if (expiresAt === undefined || expiresAt <= Date.now()) {
      record(401);
      res
        .status(401)
        .setHeader('www-authenticate', 'Bearer error="invalid_token"')
        .json({
          resourceType: 'OperationOutcome',
          issue: [{ severity: 'error', code: 'login', diagnostics: 'invalid token' }],
        });
      return;
    }
    if (forbidden) {
      record(403);
      res.status(403).json({
        resourceType: 'OperationOutcome',
        issue: [{ severity: 'error', code: 'forbidden', diagnostics: 'no access' }],
      });
      return;
    }
    record(200);
    const target = new URL(sandbox.url);
    const upstream = httpRequest(
      {
        host: target.hostname,
        port: target.port,
        path: `${target.pathname}${req.url}`,
        method: req.method,
        headers: { ...req.headers, host: target.host, authorization: `Bearer ${SANDBOX_TOKEN}` },
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });

  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const search = await fetch(`${sandbox.url}/Patient?_count=10`, {
    headers: { authorization: `Bearer ${SANDBOX_TOKEN}` },
  });
  const bundle = (await search.json()) as { entry?: { resource: { id: string } }[] };
  const patientIds = (bundle.entry ?? []).map((e) => e.resource.id);

  return {
    fhirBase: `${origin}/fhir`,
    tokenUrl: `${origin}${tokenPath}`,
    clientId,
    clientSecret,
    tokenCalls,
    fhirCalls,
    patientIds,
    setJwksUrl(url) {
      // Fetched on every verification, as a strict EHR would after a rotation: no cached keys.
      jwks = createRemoteJWKSet(new URL(url), { cooldownDuration: 0, cacheMaxAge: 0 });
    },
    setTokenLifetime(seconds) {
      lifetime = seconds;
    },
    setTokenEndpoint(next) {
      mode = next;
    },
    forgetIssuedTokens() {
      issued.clear();
    },
    setFhirForbidden(value) {
      forbidden = value;
    },
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await sandbox.close();
    },
  };
}
