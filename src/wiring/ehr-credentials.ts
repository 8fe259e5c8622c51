/**
 * How each EHR connection signs in: for `client-credentials` and `smart-backend`, its credentials
 * (re-read on SIGHUP and on file changes) and its access token, shared through Redis. The hook
 * `onCredentialsChanged` tells whoever tracks a connection's state that new credentials are in
 * place, so a connection paused for refused credentials can be tried again at once.
 */
import type { Redis } from 'ioredis';
import {
  openConnectionCredentials,
  type ConnectionCredentials,
} from '../../adapters/ehr/oauth/connection-credentials';
import { ehrKeyDir } from '../../adapters/ehr/oauth/ehr-key-store';
import { openEhrKeyRing, type EhrKeyRing } from '../../adapters/ehr/oauth/ehr-key-ring';
import { PrivateKeyError } from '../../adapters/ehr/oauth/private-key';
import { createRedisEhrTokenStore } from '../../adapters/redis/ehr-token-store';
import type { RecordCipher } from '../../adapters/redis/record-cipher';
import type { Config, ResolvedConnection } from '../config/load-config';
import type { EhrTokenProvider } from '../domain/ehr-sign-in';
import type { Logger } from '../domain/ports';
import type { Closeables } from './closeables';
import { StartupError } from './startup-error';

export type CredentialsChangedListener = (connection: string) => void;

export interface EhrCredentialsWiring {
  /** The token provider of a connection that signs in with OAuth; undefined for none/basic/bearer. */
  tokens(connection: string): EhrTokenProvider | undefined;
  /** Requests this process sent to a connection's token endpoint (0 for connections without one). */
  tokenRequests(connection: string): number;
  /**
   * Re-read the credentials of one connection (or all): secret and key files, the key directory,
   * the discovered token URL; the cached token is dropped. SIGHUP calls it for all. Every
   * `onCredentialsChanged` listener hears of each connection reloaded.
   */
  reloadCredentials(connection?: string): Promise<void>;
  /** Hook for the connection-state code: called with a connection's name when its credentials were re-read. */
  onCredentialsChanged(listener: CredentialsChangedListener): void;
}

export interface EhrCredentialsOptions {
  readonly redis: Redis;
  readonly prefix: string;
  readonly cipher: RecordCipher;
  readonly logger: Logger;
  readonly closeables: Closeables;
  /** The process's key ring (shared with the JWKS); opened here when absent and needed. */
  readonly keyRing?: EhrKeyRing;
  /** Where each connection's EHR is (its FHIR base URL, for SMART discovery). */
  readonly baseUrl: (connection: ResolvedConnection) => string;
}

export function usesOAuth(connection: ResolvedConnection): boolean {
  return connection.auth.type === 'client-credentials' || connection.auth.type === 'smart-backend';
}

export async function buildEhrCredentials(
  config: Config,
  options: EhrCredentialsOptions,
): Promise<EhrCredentialsWiring> {
  const logger = options.logger.child({ component: 'ehr-sign-in' });
  const store = createRedisEhrTokenStore({
    redis: options.redis,
    prefix: options.prefix,
    cipher: options.cipher,
  });
  const listeners: CredentialsChangedListener[] = [];
  const changed = (connection: string): void => {
    for (const listener of listeners) {
      try {
        listener(connection);
      } catch (error) {
        logger.warn({ err: error, connection }, 'credentials-changed listener failed');
      }
    }
  };

  const oauth = Object.values(config.connections).filter(usesOAuth);
  let keyRing = options.keyRing;
  if (keyRing === undefined && signsWithKeyRing(config)) {
    keyRing = await openKeyRing(config, logger, options.closeables);
  }

  const byName = new Map<string, ConnectionCredentials>();
  for (const connection of oauth) {
    const auth = connection.auth;
    if (auth.type !== 'client-credentials' && auth.type !== 'smart-backend') continue;
    let credentials: ConnectionCredentials;
    try {
      credentials = await openConnectionCredentials({
        connection: connection.name,
        baseUrl: options.baseUrl(connection),
        allowInsecureHttp: connection.allowInsecureHttp,
        signIn: auth,
        ...(keyRing !== undefined ? { keyRing } : {}),
        store,
        logger,
        onChanged: () => {
          changed(connection.name);
        },
      });
    } catch (error) {
      throw startupProblem(connection.name, error);
    }
    options.closeables.add('ehr', `EHR credentials of ${connection.name}`, () => {
      credentials.close();
      return Promise.resolve();
    });
    byName.set(connection.name, credentials);
    logger.info(
      { connection: connection.name, auth: auth.type, tokenUrl: auth.tokenUrl ?? 'discovered' },
      'EHR sign-in configured',
    );
  }

  return {
    tokens: (connection) => byName.get(connection)?.tokens,
    tokenRequests: (connection) => byName.get(connection)?.tokens.tokenRequests() ?? 0,
    async reloadCredentials(connection) {
      if (connection === undefined) await keyRing?.reload();
      const targets = connection === undefined ? [...byName.values()] : [byName.get(connection)];
      for (const credentials of targets) {
        if (credentials === undefined) continue;
        await credentials.reload({ explicit: true });
        changed(credentials.connection);
      }
    },
    onCredentialsChanged(listener) {
      listeners.push(listener);
    },
  };
}

/** True when a connection signs its assertions with the keys of `continuum ehr-keys`. */
export function signsWithKeyRing(config: Config): boolean {
  return Object.values(config.connections).some(
    (c) =>
      c.auth.type === 'smart-backend' &&
      c.auth.privateKey === undefined &&
      c.auth.privateKeyFile === undefined,
  );
}

/**
 * The EHR key ring under the data directory. Watched (and closed with the process) where a
 * connection signs with it; elsewhere it only publishes, and re-checks the directory when asked.
 */
export async function openKeyRing(
  config: Config,
  logger: Logger,
  closeables: Closeables,
): Promise<EhrKeyRing> {
  const watch = signsWithKeyRing(config);
  const ring = await openEhrKeyRing(ehrKeyDir(config.dataDir), {
    watch,
    onError: (error) => {
      logger.warn({ err: error }, 'EHR key directory not watched; keys are re-checked before each use');
    },
  });
  if (watch) {
    closeables.add('ehr', 'EHR signing keys', () => {
      ring.close();
      return Promise.resolve();
    });
  }
  return ring;
}

function startupProblem(connection: string, error: unknown): Error {
  if (error instanceof PrivateKeyError) return new StartupError(error.message);
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'EACCES') {
    const path = (error as NodeJS.ErrnoException).path ?? 'a credential file';
    return new StartupError(`connections.${connection}.auth: cannot read ${path} (${code})`);
  }
  return error instanceof Error ? error : new Error(String(error));
}

/**
 * A connection's tokens for a one-off command (`continuum subscriptions sync`): kept in memory
 * only, no Redis, no watching. Undefined for connections that do not sign in with OAuth.
 */
export async function commandEhrTokens(
  config: Config,
  connection: ResolvedConnection,
  baseUrl: string,
  logger: Logger,
): Promise<EhrTokenProvider | undefined> {
  const auth = connection.auth;
  if (auth.type !== 'client-credentials' && auth.type !== 'smart-backend') return undefined;
  const keyRing = await openEhrKeyRing(ehrKeyDir(config.dataDir), { watch: false });
  const credentials = await openConnectionCredentials({
    connection: connection.name,
    baseUrl,
    allowInsecureHttp: connection.allowInsecureHttp,
    signIn: auth,
    keyRing,
    logger,
  }).catch((error: unknown) => {
    throw startupProblem(connection.name, error);
  });
  credentials.close();
  return credentials.tokens;
}
