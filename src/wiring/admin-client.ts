/**
 * Secure by default and still two commands: a first start with no clients creates an admin
 * client and writes its key to `<dataDir>/admin.key` (0600). The key is never logged; the log
 * says where the file is.
 */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import type { Config } from '../config/load-config';
import { SCOPES, type ClientRegistry } from '../domain/access';
import { isContinuumError } from '../domain/errors';
import type { Logger } from '../domain/ports';

export const ADMIN_CLIENT_NAME = 'admin';

export function adminKeyPath(config: Config): string {
  const file = config.auth.adminKeyFile;
  return isAbsolute(file) ? file : join(config.dataDir, file);
}

/**
 * The admin client holds every scope, those added by later releases too (`metrics:read`): a data
 * directory from an older release gets them at start-up. A revoked admin client stays revoked.
 */
async function grantNewScopes(registry: ClientRegistry, logger: Logger): Promise<void> {
  const admin = await registry.find(ADMIN_CLIENT_NAME);
  if (admin === undefined || admin.revokedAt !== undefined) return;
  const missing = SCOPES.filter((scope) => !admin.scopes.includes(scope));
  if (missing.length === 0) return;
  await registry.grant(admin.id, missing);
  logger.info({ clientId: admin.id, scopes: missing }, 'granted the admin client the scopes it lacked');
}

/** Creates the admin client when the registry has no client at all; returns the key file then. */
export async function ensureAdminClient(
  registry: ClientRegistry,
  config: Config,
  logger: Logger,
): Promise<string | undefined> {
  if ((await registry.list()).length > 0) {
    await grantNewScopes(registry, logger);
    return undefined;
  }
  let key: string;
  try {
    ({ key } = await registry.create({
      name: ADMIN_CLIENT_NAME,
      tenant: config.auth.adminTenant,
      scopes: SCOPES,
    }));
  } catch (error) {
    // Another process of this gateway, starting at the same moment, created it first.
    if (isContinuumError(error) && (error.code === 'CONFLICT' || error.code === 'VALIDATION')) {
      if ((await registry.find(ADMIN_CLIENT_NAME)) !== undefined) return undefined;
    }
    throw error;
  }
  const file = adminKeyPath(config);
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(file, `${key}\n`, { mode: 0o600 });
  // writeFileSync's mode applies only when it creates the file: a stale one keeps its own.
  chmodSync(file, 0o600);
  logger.info({ file, tenant: config.auth.adminTenant }, 'created the admin client; its key is in this file');
  return file;
}
