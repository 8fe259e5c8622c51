/**
 * What one connection signs in to its EHR with, kept current: the client secret or private key
 * (inline, from a file, or the key ring's active key), the token URL (configured or discovered),
 * re-read when a file changes or on `reload()` (SIGHUP), with the access token of the old
 * credentials dropped so the next request proves the new ones.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { SharedEhrTokenStore } from '../../../src/domain/ehr-sign-in';
import { ContinuumError } from '../../../src/domain/errors';
import type { Logger } from '../../../src/domain/ports';
import { createAccessTokenSource, type AccessTokenSource, type TokenGrant } from './access-token-source';
import { CLIENT_ASSERTION_TYPE, signClientAssertion } from './client-assertion';
import type { EhrKeyRing } from './ehr-key-ring';
import { watchFiles, type FileWatch, type WatchedPath } from './file-watch';
import { importEhrSigningKey, type EhrSigningAlgorithm, type EhrSigningKey } from './private-key';
import { discoverTokenEndpoint } from './smart-configuration';
import { requestAccessToken } from './token-endpoint';

export type EhrSignIn =
  | {
      readonly type: 'client-credentials';
      readonly clientId: string;
      readonly clientSecret?: string | undefined;
      readonly clientSecretFile?: string | undefined;
      readonly method: 'client_secret_basic' | 'client_secret_post';
      readonly scopes: readonly string[];
      readonly tokenUrl?: string | undefined;
    }
  | {
      readonly type: 'smart-backend';
      readonly clientId: string;
      readonly scopes: readonly string[];
      readonly tokenUrl?: string | undefined;
      readonly algorithm: EhrSigningAlgorithm;
      readonly privateKey?: string | undefined;
      readonly privateKeyFile?: string | undefined;
    };

export interface ConnectionCredentials {
  readonly connection: string;
  readonly tokens: AccessTokenSource;
  /**
   * Re-reads the secret or key and forgets the discovered token URL; drops the cached token
   * (with `explicit`, also a shared one obtained before this call with the same credentials).
   * Resolves true when the credentials changed.
   */
  reload(options?: { readonly explicit?: boolean }): Promise<boolean>;
  close(): void;
}

export interface ConnectionCredentialsOptions {
  readonly connection: string;
  /** The EHR's FHIR base URL, where `.well-known/smart-configuration` is found. */
  readonly baseUrl: string;
  readonly allowInsecureHttp: boolean;
  readonly signIn: EhrSignIn;
  /** Needed by `smart-backend` without a key of its own. */
  readonly keyRing?: EhrKeyRing;
  readonly store?: SharedEhrTokenStore;
  readonly logger: Logger;
  /** Deadline of one token or discovery request, in ms. */
  readonly timeoutMs?: number;
  /** After a file change made the credentials differ (not after an explicit reload: its caller knows). */
  readonly onChanged?: () => void;
}

interface Material {
  /** The client secret, for client credentials. */
  readonly secret?: string;
  /** The connection's own key (inline or file), for SMART; absent: the key ring's. */
  readonly key?: EhrSigningKey;
}

/** Secret files are usually written with a trailing newline, which is not part of the secret. */
async function readSecretFile(file: string): Promise<string> {
  return (await readFile(resolve(file), 'utf8')).replace(/\r?\n$/, '');
}

async function readMaterial(signIn: EhrSignIn, connection: string): Promise<Material> {
  if (signIn.type === 'client-credentials') {
    if (signIn.clientSecretFile !== undefined) {
      const secret = await readSecretFile(signIn.clientSecretFile);
      if (secret === '')
        throw new Error(`connections.${connection}.auth.clientSecretFile: the file is empty`);
      return { secret };
    }
    return { secret: signIn.clientSecret ?? '' };
  }
  const where = `connections.${connection}.auth.${signIn.privateKeyFile !== undefined ? 'privateKeyFile' : 'privateKey'}`;
  const text =
    signIn.privateKeyFile !== undefined
      ? await readFile(resolve(signIn.privateKeyFile), 'utf8')
      : signIn.privateKey;
  if (text === undefined) return {};
  return { key: await importEhrSigningKey(text, signIn.algorithm, where) };
}

export async function openConnectionCredentials(
  options: ConnectionCredentialsOptions,
): Promise<ConnectionCredentials> {
  const { connection, signIn, logger } = options;
  const timeoutMs = options.timeoutMs ?? 10_000;
  if (
    signIn.type === 'smart-backend' &&
    signIn.privateKey === undefined &&
    signIn.privateKeyFile === undefined
  ) {
    if (options.keyRing === undefined) throw new Error(`connection ${connection} needs the EHR key ring`);
    // The first start of a SMART connection makes its key, so the JWKS has one to register.
    await options.keyRing.ensureKey(signIn.algorithm);
  }
  let material = await readMaterial(signIn, connection);
  let discovered: string | undefined;

  const signingKey = async (): Promise<EhrSigningKey> => {
    if (signIn.type !== 'smart-backend') throw new Error('no key for client credentials');
    const key = material.key ?? (await options.keyRing?.signer(signIn.algorithm));
    if (key === undefined) {
      throw new ContinuumError('EHR_CREDENTIALS_REJECTED', {
        detail: `EHR ${connection}: no active ${signIn.algorithm} key (continuum ehr-keys create --alg ${signIn.algorithm})`,
      });
    }
    return key;
  };

  /** Never the secret or the key: their digest, to tell tokens of other credentials apart. */
  const digest = async (): Promise<string> => {
    const secretPart =
      signIn.type === 'client-credentials'
        ? createHash('sha256')
            .update(material.secret ?? '')
            .digest('base64url')
        : (await signingKey()).kid;
    return createHash('sha256')
      .update(
        JSON.stringify([signIn.type, signIn.clientId, secretPart, signIn.scopes, signIn.tokenUrl ?? null]),
      )
      .digest('base64url');
  };

  const tokenUrl = async (): Promise<string> => {
    if (signIn.tokenUrl !== undefined) return signIn.tokenUrl;
    discovered ??= await discoverTokenEndpoint({
      connection,
      baseUrl: options.baseUrl,
      allowInsecureHttp: options.allowInsecureHttp,
      timeoutMs,
    });
    return discovered;
  };

  const grant = async (): Promise<TokenGrant> => {
    // The cheap stat check: a changed file is re-read before it is used.
    await files?.check();
    const credentials = await digest();
    return {
      credentials,
      fetch: async () => {
        const url = await tokenUrl();
        const scope = signIn.scopes.join(' ');
        if (signIn.type === 'smart-backend') {
          const assertion = await signClientAssertion({
            clientId: signIn.clientId,
            tokenUrl: url,
            key: await signingKey(),
          });
          return requestAccessToken({
            connection,
            tokenUrl: url,
            timeoutMs,
            form: {
              grant_type: 'client_credentials',
              scope,
              client_assertion_type: CLIENT_ASSERTION_TYPE,
              client_assertion: assertion,
            },
          });
        }
        const secret = material.secret ?? '';
        const form: Record<string, string> = { grant_type: 'client_credentials' };
        if (scope !== '') form.scope = scope;
        if (signIn.method === 'client_secret_post') {
          return requestAccessToken({
            connection,
            tokenUrl: url,
            timeoutMs,
            form: { ...form, client_id: signIn.clientId, client_secret: secret },
          });
        }
        // RFC 6749 section 2.3.1: id and secret are form-encoded before Basic encoding.
        const basic = Buffer.from(`${formEncode(signIn.clientId)}:${formEncode(secret)}`).toString('base64');
        return requestAccessToken({
          connection,
          tokenUrl: url,
          timeoutMs,
          form,
          headers: { authorization: `Basic ${basic}` },
        });
      },
    };
  };

  const tokens = createAccessTokenSource({ connection, grant, store: options.store, logger });
  let current = await digest();

  const reload = async (how: { readonly explicit?: boolean } = {}): Promise<boolean> => {
    const startedAt = Date.now();
    try {
      material = await readMaterial(signIn, connection);
    } catch (error) {
      // A file caught half-replaced, or removed: keep what worked and say so.
      logger.warn({ err: error, connection }, 'EHR credentials not re-read; the previous ones stay in use');
      return false;
    }
    discovered = undefined;
    const next = await digest();
    const changed = next !== current;
    current = next;
    await tokens.forget(next, how.explicit === true ? startedAt : 0);
    return changed;
  };

  const watched: WatchedPath[] = [];
  if (signIn.type === 'client-credentials' && signIn.clientSecretFile !== undefined)
    watched.push({ path: resolve(signIn.clientSecretFile), directory: false });
  if (signIn.type === 'smart-backend' && signIn.privateKeyFile !== undefined)
    watched.push({ path: resolve(signIn.privateKeyFile), directory: false });
  const onFileChange = async (): Promise<void> => {
    if (await reload()) {
      logger.info({ connection }, 'EHR credentials changed on disk and were re-read');
      options.onChanged?.();
    }
  };
  const files: FileWatch | undefined =
    watched.length > 0
      ? await watchFiles(watched, onFileChange, {
          onError: (error) => {
            logger.warn({ err: error, connection }, 'EHR credential file not watched');
          },
        })
      : undefined;
  if (signIn.type === 'smart-backend' && material.key === undefined) {
    // A rotation changes which key signs: the next token is asked for with the new one.
    options.keyRing?.onChange(() => {
      void onFileChange().catch((error: unknown) => {
        logger.warn({ err: error, connection }, 'EHR credentials not re-read after a key change');
      });
    });
  }

  return {
    connection,
    tokens,
    reload,
    close() {
      files?.close();
    },
  };
}

function formEncode(value: string): string {
  return encodeURIComponent(value).replace(/%20/g, '+');
}
