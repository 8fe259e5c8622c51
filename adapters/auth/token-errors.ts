/**
 * How a refused bearer token is reported. Neither the token nor any of its claims is ever put in
 * an error (detail, extra or cause): callers log errors, and a token's claims can name a person.
 */
import { ContinuumError } from '../../src/domain/errors';

/** `oauthError` lets the HTTP edge answer with RFC 6750's `error="invalid_token"`. */
export function invalidToken(): ContinuumError {
  return new ContinuumError('UNAUTHORIZED', {
    detail: 'the access token is not valid',
    extra: { oauthError: 'invalid_token' },
  });
}

/**
 * The provider's JWKS could not be fetched: the token may be good, so say so apart from a bad one.
 * The cause is a network or HTTP failure of the provider's URL, which carries nothing of the token.
 */
export function keysUnavailable(cause: unknown): ContinuumError {
  return new ContinuumError('UNAUTHORIZED', {
    detail: "the identity provider's keys could not be fetched",
    extra: { oauthError: 'invalid_token' },
    cause,
  });
}
