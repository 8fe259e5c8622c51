/**
 * One EHR connection's access token, as every process of the gateway shares it.
 *
 * A request takes the token held in memory. Past 80% of its lifetime the token is still used, and
 * one refresh starts in the background: it first looks in the shared store (another process may
 * have refreshed already), else claims the refresh lease and asks the token endpoint; a process
 * that finds the lease taken keeps its current token, or, having none left, waits briefly for the
 * one being fetched. So N processes make about one token request per refresh, not N.
 * The shared store is an optimisation: when Redis does not answer, each process fetches its own.
 */
import { randomUUID } from 'node:crypto';
import type { EhrAccessToken, EhrTokenProvider, SharedEhrTokenStore } from '../../../src/domain/ehr-sign-in';
import type { Logger } from '../../../src/domain/ports';
import type { TokenAnswer } from './token-endpoint';

export interface TokenGrant {
  /** A digest of the credentials (never the credentials): tokens obtained with others are not reused. */
  readonly credentials: string;
  fetch(): Promise<TokenAnswer>;
}

export interface AccessTokenSource extends EhrTokenProvider {
  /** Requests this process sent to the token endpoint. */
  tokenRequests(): number;
  /**
   * The credentials were re-read: drop the token in memory, and the shared one if it was
   * obtained with other credentials than `credentials` or before `obtainedBefore` (epoch ms; an
   * explicit reload passes its own start, so of N processes reloading at once only the first
   * refetches).
   */
  forget(credentials: string, obtainedBefore?: number): Promise<void>;
}

export interface AccessTokenSourceOptions {
  readonly connection: string;
  /** The credentials as they are now (files re-checked). */
  readonly grant: () => Promise<TokenGrant>;
  /** Absent: this process keeps its token to itself (the CLI). */
  readonly store?: SharedEhrTokenStore;
  readonly logger: Logger;
  /** Share of a token's lifetime after which it is refreshed. */
  readonly refreshAt?: number;
  /** Lifetime assumed when the endpoint gives no `expires_in`, in seconds. */
  readonly defaultLifetimeSeconds?: number;
  /** How long a process without a usable token waits for another's refresh before asking itself. */
  readonly peerWaitMs?: number;
  /** After a failed token request, how long requests fail alike before another is sent, in ms. */
  readonly failureBackoffMs?: number;
  /** Longest wait for one shared-store command, in ms. */
  readonly storeDeadlineMs?: number;
  readonly now?: () => number;
}

export function createAccessTokenSource(options: AccessTokenSourceOptions): AccessTokenSource {
  const { connection, store, logger } = options;
  const now = options.now ?? Date.now;
  const refreshShare = options.refreshAt ?? 0.8;
  const defaultLifetimeMs = (options.defaultLifetimeSeconds ?? 300) * 1000;
  const peerWaitMs = options.peerWaitMs ?? 5000;
  /** Longer than a token request may take, so the lease outlives the refresh it guards. */
  const leaseMs = 15_000;
  const storeDeadlineMs = options.storeDeadlineMs ?? 500;
  const failureBackoffMs = options.failureBackoffMs ?? 1000;

  let held: EhrAccessToken | undefined;
  let inFlight: Promise<EhrAccessToken> | undefined;
  /** Not before then does a process that found the lease taken look again (no Redis read per request). */
  let lookAgainAt = 0;
  let requests = 0;
  /** The last failed refresh: for `failureBackoffMs` no other is started. */
  let failed: { readonly error: unknown; readonly until: number } | undefined;
  const backingOff = (at: number): boolean => failed !== undefined && at < failed.until;
  /** Tokens the EHR answered 401 to: never adopted again from the store. */
  const refused = new Set<string>();

  const refreshDue = (t: EhrAccessToken, at = now()): boolean =>
    at >= t.obtainedAt + refreshShare * (t.expiresAt - t.obtainedAt);
  /** A margin before the real expiry: clocks differ and the request takes time to arrive. */
  const usable = (t: EhrAccessToken, at = now()): boolean =>
    at < t.expiresAt - Math.min(5000, 0.1 * (t.expiresAt - t.obtainedAt));
  const acceptable = (t: EhrAccessToken | undefined, credentials: string): t is EhrAccessToken =>
    t !== undefined && t.credentials === credentials && !refused.has(t.accessToken) && usable(t);

  const quietly = async <T>(
    what: string,
    work: (shared: SharedEhrTokenStore) => Promise<T>,
    fallback: T,
  ): Promise<T> => {
    if (store === undefined) return fallback;
    let timer: NodeJS.Timeout | undefined;
    // A Redis that hangs must not hold the request: past the deadline the process goes on alone.
    const late = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => {
        reject(new Error('no answer in time'));
      }, storeDeadlineMs);
    });
    try {
      return await Promise.race([work(store), late]);
    } catch (error) {
      logger.warn({ err: error, connection }, `EHR token store: ${what} failed; going on without it`);
      return fallback;
    } finally {
      clearTimeout(timer);
    }
  };

  async function fetchToken(grant: TokenGrant): Promise<EhrAccessToken> {
    requests++;
    const obtainedAt = now();
    const answer = await grant.fetch();
    // Some servers hand out the same token again while it lasts: issued now, it deserves one more try.
    refused.delete(answer.accessToken);
    const lifetimeMs = answer.expiresIn !== undefined ? answer.expiresIn * 1000 : defaultLifetimeMs;
    const token: EhrAccessToken = {
      accessToken: answer.accessToken,
      obtainedAt,
      expiresAt: obtainedAt + lifetimeMs,
      credentials: grant.credentials,
    };
    logger.info({ connection, expiresInSeconds: Math.round(lifetimeMs / 1000) }, 'EHR access token obtained');
    await quietly('write', (shared) => shared.write(connection, token), undefined);
    return token;
  }

  async function obtain(): Promise<EhrAccessToken> {
    const grant = await options.grant();
    const shared = await quietly('read', (shared) => shared.read(connection), undefined);
    if (acceptable(shared, grant.credentials) && !refreshDue(shared)) return shared;

    const owner = randomUUID();
    const claimed = await quietly('lease', (shared) => shared.claimRefresh(connection, owner, leaseMs), true);
    if (claimed) {
      try {
        // Another process may have finished its refresh between our read and our claim.
        const again = await quietly('read', (shared) => shared.read(connection), undefined);
        if (acceptable(again, grant.credentials) && !refreshDue(again)) return again;
        return await fetchToken(grant);
      } finally {
        await quietly('release', (shared) => shared.releaseRefresh(connection, owner), undefined);
      }
    }
    // Another process is refreshing: our current token will do while it lasts.
    if (acceptable(held, grant.credentials)) {
      lookAgainAt = now() + 250;
      return held;
    }
    const deadline = now() + peerWaitMs;
    while (now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      const theirs = await quietly('read', (shared) => shared.read(connection), undefined);
      if (acceptable(theirs, grant.credentials)) return theirs;
    }
    // The refresher died or is stuck: ask ourselves rather than fail the request.
    return fetchToken(grant);
  }

  /** One refresh at a time in this process. */
  function refresh(): Promise<EhrAccessToken> {
    inFlight ??= obtain()
      .then(
        (token) => {
          held = token;
          failed = undefined;
          return token;
        },
        (error: unknown) => {
          failed = { error, until: now() + failureBackoffMs };
          throw error;
        },
      )
      .finally(() => {
        inFlight = undefined;
      });
    return inFlight;
  }

  async function token(): Promise<string> {
    const current = held;
    const at = now();
    if (current !== undefined && !refused.has(current.accessToken) && usable(current, at)) {
      if (refreshDue(current, at) && inFlight === undefined && at >= lookAgainAt && !backingOff(at)) {
        // Ahead of expiry, off the request's path: a failure here is retried by the next request.
        refresh().catch((error: unknown) => {
          logger.warn(
            { err: error, connection },
            'EHR access token not refreshed ahead of expiry; the current one is used meanwhile',
          );
        });
      }
      return current.accessToken;
    }
    // An endpoint that just failed is not asked again by every request meanwhile: they fail alike.
    if (failed !== undefined && backingOff(at)) throw failed.error;
    return (await refresh()).accessToken;
  }

  return {
    token,

    async renew(accessToken) {
      refused.add(accessToken);
      if (refused.size > 100) refused.delete(refused.values().next().value as string);
      if (held?.accessToken === accessToken) held = undefined;
      await quietly('delete', (shared) => shared.deleteIf(connection, accessToken), undefined);
      // A refresh already running may bring back the refused token from the store: wait it out.
      if (inFlight !== undefined) await inFlight.catch(() => undefined);
      return token();
    },

    async forget(credentials, obtainedBefore = 0) {
      const dropped = held;
      held = undefined;
      lookAgainAt = 0;
      // New credentials deserve a try at once.
      failed = undefined;
      const stored = await quietly('read', (shared) => shared.read(connection), undefined);
      if (
        stored !== undefined &&
        (stored.credentials !== credentials || stored.obtainedAt < obtainedBefore)
      ) {
        await quietly('delete', (shared) => shared.deleteIf(connection, stored.accessToken), undefined);
      }
      if (dropped !== undefined) logger.info({ connection }, 'EHR credentials changed: cached token dropped');
    },

    tokenRequests: () => requests,
  };
}
