/**
 * The sandbox as an OAuth-protected EHR: one registered client, a client-credentials token endpoint
 * (client secret, or a SMART Backend Services signed assertion), opaque short-lived tokens, and the
 * drill switches an operator needs ("the EHR revoked our credentials", "every token just died").
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { AccessTokens } from './access-tokens';
import type { AssertionAlgorithm, SandboxAuthMode, SandboxAuthOptions } from './auth-options';
import {
  ASSERTION_ALGORITHMS,
  DEFAULT_GRANTABLE_SCOPES,
  DEFAULT_TOKEN_LIFETIME_SECONDS,
  checkSandboxAuthOptions,
} from './auth-options';
import type { ClientAssertionCheck } from './client-assertion';
import { createClientAssertionCheck } from './client-assertion';
import type { FaultFieldProblem } from './fault-mode';
import { FaultModeError } from './fault-mode';
import { grantScopes } from './smart-scopes';
import type { SandboxLogger } from './types';

export const JWT_BEARER_ASSERTION = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

export interface SandboxAuthCounters {
  /** Access tokens issued. */
  tokensIssued: number;
  /** Token requests refused (any OAuth error). */
  tokensRefused: number;
  /** FHIR requests answered 401 for want of a valid token. */
  unauthorized: number;
}

export interface SandboxAuthState {
  readonly mode: SandboxAuthMode;
  readonly clientId: string | null;
  readonly tokenLifetimeSeconds: number;
  /** While true the client cannot get tokens and every token it holds is refused. */
  readonly revoked: boolean;
  readonly activeTokens: number;
  /** Since the sandbox started. */
  readonly counters: SandboxAuthCounters;
}

/** What `POST /sandbox/admin/auth` takes. */
export interface SandboxAuthChange {
  readonly revoked?: boolean;
  /** Forget every issued token now, without revoking the client. */
  readonly invalidateTokens?: boolean;
}

/** The programmatic control surface, as `sandbox.auth`. */
export interface SandboxAuthControl {
  get(): SandboxAuthState;
  /** Validates (throws FaultModeError naming the field) and applies a change. */
  set(change: SandboxAuthChange): SandboxAuthState;
}

/** The parts of a token request the endpoint reads, already taken out of the HTTP request. */
export interface TokenRequest {
  readonly grantType: string | undefined;
  readonly scope: string | undefined;
  /** From `Authorization: Basic`, when the client sent one (undefined: none; null: unreadable). */
  readonly basic: { readonly id: string; readonly secret: string } | null | undefined;
  readonly clientId: string | undefined;
  readonly clientSecret: string | undefined;
  readonly assertionType: string | undefined;
  readonly assertion: string | undefined;
  /** This endpoint's absolute URL, which an assertion's `aud` must name. */
  readonly endpointUrl: string;
}

export interface TokenAnswer {
  readonly status: number;
  readonly body: Record<string, unknown>;
  /** Set when the client tried HTTP Basic: a 401 then names the scheme (RFC 6749 5.2). */
  readonly basicChallenge: boolean;
}

const changeSchema = z
  .object({ revoked: z.boolean().optional(), invalidateTokens: z.boolean().optional() })
  .strict()
  .refine((c) => c.revoked !== undefined || c.invalidateTokens !== undefined, {
    message: 'expected {"revoked": true|false} and/or {"invalidateTokens": true}',
  });

const sha256 = (text: string): Buffer => createHash('sha256').update(text).digest();
const sameSecret = (given: string, expected: string): boolean =>
  timingSafeEqual(sha256(given), sha256(expected));

export class SandboxAuth implements SandboxAuthControl {
  readonly mode: SandboxAuthMode;
  readonly algorithms: readonly AssertionAlgorithm[];
  readonly scopes: readonly string[];
  private readonly lifetime: number;
  private readonly tokens: AccessTokens;
  private readonly assertions: ClientAssertionCheck | undefined;
  private readonly counters: SandboxAuthCounters = { tokensIssued: 0, tokensRefused: 0, unauthorized: 0 };
  private revoked = false;

  constructor(
    private readonly options: SandboxAuthOptions,
    private readonly deps: { readonly logger?: SandboxLogger | undefined; readonly now?: () => number } = {},
  ) {
    checkSandboxAuthOptions(options);
    const now = deps.now ?? Date.now;
    this.mode = options.mode;
    this.lifetime = options.tokenLifetimeSeconds || DEFAULT_TOKEN_LIFETIME_SECONDS;
    this.algorithms = options.algorithms?.length ? options.algorithms : ASSERTION_ALGORITHMS;
    this.scopes = options.scopes?.length ? options.scopes : DEFAULT_GRANTABLE_SCOPES;
    this.tokens = new AccessTokens(now);
    this.assertions =
      options.mode === 'smart-backend' && options.clientId && options.jwksUrl
        ? createClientAssertionCheck({
            clientId: options.clientId,
            jwksUrl: options.jwksUrl,
            algorithms: this.algorithms,
            now,
          })
        : undefined;
  }

  /** Whether the FHIR API needs a token at all. */
  get enabled(): boolean {
    return this.mode !== 'none';
  }

  get(): SandboxAuthState {
    return {
      mode: this.mode,
      clientId: this.options.clientId ?? null,
      tokenLifetimeSeconds: this.lifetime,
      revoked: this.revoked,
      activeTokens: this.revoked ? 0 : this.tokens.active(),
      counters: { ...this.counters },
    };
  }

  set(input: SandboxAuthChange): SandboxAuthState {
    const parsed = changeSchema.safeParse(input);
    if (!parsed.success) {
      throw new FaultModeError(parsed.error.issues.flatMap(problemsOf));
    }
    const change = parsed.data;
    let invalidated = 0;
    // A real EHR that revokes a client kills its tokens too: restoring it does not bring them back.
    if (change.revoked === true || change.invalidateTokens === true)
      invalidated = this.tokens.invalidateAll();
    if (change.revoked !== undefined) this.revoked = change.revoked;
    this.deps.logger?.info(
      { revoked: this.revoked, invalidatedTokens: invalidated },
      'sandbox EHR client credentials changed',
    );
    return this.get();
  }

  /** Whether an `Authorization` header carries a live token of a client not revoked; a refusal counts as a 401. */
  admit(authorization: string | undefined): boolean {
    const token = /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/i.exec(authorization?.trim() ?? '')?.[1];
    const valid = token !== undefined && !this.revoked && this.tokens.check(token) !== undefined;
    if (!valid) this.counters.unauthorized += 1;
    return valid;
  }

  async token(request: TokenRequest): Promise<TokenAnswer> {
    const answer = await this.decide(request);
    if (answer.status === 200) {
      this.counters.tokensIssued += 1;
    } else {
      this.counters.tokensRefused += 1;
      this.deps.logger?.info(
        { error: answer.body.error, reason: answer.body.error_description },
        'sandbox EHR refused a token request',
      );
    }
    return answer;
  }

  private async decide(request: TokenRequest): Promise<TokenAnswer> {
    const basicChallenge = request.basic !== undefined;
    const error = (status: number, code: string, description: string): TokenAnswer => ({
      status,
      body: { error: code, error_description: description },
      basicChallenge,
    });
    if (request.grantType === undefined) return error(400, 'invalid_request', 'grant_type is required');
    if (request.grantType !== 'client_credentials') {
      return error(400, 'unsupported_grant_type', 'only client_credentials is supported');
    }
    const client = await this.authenticate(request);
    if (!client.ok) return error(401, 'invalid_client', client.reason);
    if (this.revoked) return error(401, 'invalid_client', 'the client has been revoked');
    const granted = grantScopes(request.scope, this.scopes);
    if (granted.length === 0) {
      return error(400, 'invalid_scope', 'none of the requested scopes may be granted to this client');
    }
    const scope = granted.join(' ');
    return {
      status: 200,
      body: {
        access_token: this.tokens.issue(this.lifetime, scope),
        token_type: 'bearer',
        expires_in: this.lifetime,
        scope,
      },
      basicChallenge,
    };
  }

  private async authenticate(
    request: TokenRequest,
  ): Promise<{ readonly ok: true } | { readonly ok: false; readonly reason: string }> {
    const refuse = (reason: string) => ({ ok: false as const, reason });
    const clientId = this.options.clientId ?? '';
    const ways = [
      request.basic !== undefined,
      request.clientSecret !== undefined,
      request.assertion !== undefined,
    ].filter(Boolean).length;
    if (ways === 0) return refuse('no client authentication was sent');
    if (ways > 1) return refuse('use exactly one client authentication method');
    if (request.basic === null) return refuse('the Basic credentials are not readable');
    if (this.mode === 'client-credentials') {
      if (request.assertion !== undefined) return refuse('this client authenticates with its secret');
      const given = request.basic ?? { id: request.clientId ?? '', secret: request.clientSecret ?? '' };
      const secret = this.options.clientSecret ?? '';
      // Both compared whatever the first gives, so the time taken says nothing about which was wrong.
      const idOk = sameSecret(given.id, clientId);
      const secretOk = sameSecret(given.secret, secret);
      return idOk && secretOk ? { ok: true } : refuse('unknown client or wrong secret');
    }
    if (request.assertion === undefined || this.assertions === undefined) {
      return refuse('this client authenticates with a signed assertion (private_key_jwt)');
    }
    if (request.assertionType !== JWT_BEARER_ASSERTION) {
      return refuse(`client_assertion_type must be ${JWT_BEARER_ASSERTION}`);
    }
    if (request.clientId !== undefined && request.clientId !== clientId) {
      return refuse('client_id does not name the assertion issuer');
    }
    return this.assertions.verify(request.assertion, request.endpointUrl);
  }
}

function problemsOf(issue: z.core.$ZodIssue): FaultFieldProblem[] {
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => ({ field: key, message: 'is not an option' }));
  }
  return [{ field: issue.path.map(String).join('.') || '(body)', message: issue.message }];
}
