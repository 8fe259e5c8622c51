/**
 * Ports for the gateway's own sign-in to an EHR (OAuth 2.0 client credentials, SMART Backend
 * Services): the access token a connection presents, and the store every process shares it
 * through so that N processes make one token request per refresh, not N.
 */

export interface EhrAccessToken {
  readonly accessToken: string;
  /** Epoch ms. */
  readonly obtainedAt: number;
  /** Epoch ms: past it the EHR refuses the token. */
  readonly expiresAt: number;
  /**
   * A digest of the credentials the token was obtained with (client id, secret or signing key,
   * token URL, scopes): a process whose credentials changed does not keep a token of the old ones.
   */
  readonly credentials: string;
}

/** One connection's token, shared by every process of the gateway. */
export interface SharedEhrTokenStore {
  read(connection: string): Promise<EhrAccessToken | undefined>;
  /** Stored until it expires. */
  write(connection: string, token: EhrAccessToken): Promise<void>;
  /** Deletes the stored token only if it is still `accessToken` (another process may have replaced it). */
  deleteIf(connection: string, accessToken: string): Promise<void>;
  /** One refresher at a time: true when this caller holds the lease for `ms` (released by `release`). */
  claimRefresh(connection: string, owner: string, ms: number): Promise<boolean>;
  releaseRefresh(connection: string, owner: string): Promise<void>;
}

/** What a FHIR client asks for the token to present, and tells when the EHR refused one. */
export interface EhrTokenProvider {
  /** A token that is valid now (refreshed ahead of expiry, shared across processes). */
  token(): Promise<string>;
  /**
   * The EHR answered 401 to `accessToken`: forget it (if it is still the current one) so the next
   * `token()` gets a fresh one. Resolves with that fresh token.
   */
  renew(accessToken: string): Promise<string>;
}
