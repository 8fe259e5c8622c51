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

/** Creates the admin client when the registry has no client at all; returns the key file then. */
export async function ensureAdminClient(
  registry: ClientRegistry,
  config: Config,
  logger: Logger,
): Promise<string | undefined> {
  if ((await registry.list()).length > 0) return undefined;
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
