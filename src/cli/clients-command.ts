/**
 * `continuum clients create|list|revoke|rotate`: who may call the API (call-center tools, IVR flows,
 * operators) and with which keys. It works on the client registry in Redis as the gateway does, so
 * it needs no running gateway (the first client is made before any) and every running gateway
 * hears of a change within a second. A key is printed once, here; Redis keeps only its hash.
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Redis } from 'ioredis';
import { createRedisClientRegistry } from '../../adapters/redis/client-registry';
import { validateNewClient } from '../../adapters/redis/client-record';
import { startEmbeddedRedis, type EmbeddedRedis } from '../../adapters/redis/embedded-redis';
import { createRedisConnection, targetFromUrl } from '../../adapters/redis/redis-connections';
import type { Config } from '../config/load-config';
import { SCOPES, type ClientInfo, type ClientRegistry, type Scope } from '../domain/access';
import { isContinuumError } from '../domain/errors';
import type { Logger } from '../domain/ports';
import { createLogger } from '../observability/logger';
import type { NewAuditRecord } from '../domain/audit';
import { cliUser, openCliAudit } from './cli-audit';
import { usageMistake } from './usage-mistake';

export const CLIENTS_USAGE = `Usage:
  continuum clients create --name NAME --tenant TENANT --scopes SCOPE[,SCOPE...] [--json]
  continuum clients list [--json]
  continuum clients revoke ID_OR_NAME [--json]
  continuum clients rotate ID_OR_NAME [--grace 24h|90m|3600s|0] [--json]

create and rotate print the new API key once; Continuum keeps only its hash, so store it now.
rotate: the client's current keys keep working for --grace (default 24h); 0 stops them at once.
revoke: every key of the client stops working, in every gateway process within a second.
Scopes: ${SCOPES.join(', ')}`;

const DEFAULT_GRACE_SECONDS = 24 * 3600;

class UsageError extends Error {}

type Request =
  | { readonly action: 'help' }
  | {
      readonly action: 'create';
      readonly name: string;
      readonly tenant: string;
      readonly scopes: readonly string[];
      readonly json: boolean;
    }
  | { readonly action: 'list'; readonly json: boolean }
  | { readonly action: 'revoke'; readonly client: string; readonly json: boolean }
  | {
      readonly action: 'rotate';
      readonly client: string;
      readonly graceSeconds: number;
      readonly json: boolean;
    };

/** Runs one action; resolves with the exit code (0 done, 2 usage or validation, 1 anything else). */
export async function clientsCommand(args: string[], readConfig: () => Config): Promise<number> {
  let request: Request;
  try {
    request = parseRequest(args);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(usageMistake(error.message, CLIENTS_USAGE));
    return 2;
  }
  if (request.action === 'help') {
    process.stdout.write(`${CLIENTS_USAGE}\n`);
    return 0;
  }
  const config = readConfig();
  if (request.action === 'create' && !(request.tenant in config.tenants)) {
    process.stderr.write(
      `--tenant ${request.tenant}: no such tenant in the configuration (have: ${Object.keys(config.tenants).join(', ')})\n`,
    );
    return 2;
  }

  // Only errors, on stderr: stdout carries the answer (and the key), for people and scripts alike.
  const logger = createLogger({ level: 'error', destination: process.stderr });
  let redis: RegistryRedis | undefined;
  try {
    if (request.action === 'create') {
      validateNewClient({ name: request.name, tenant: request.tenant, scopes: request.scopes as Scope[] });
    }
    redis = await openRedis(config, logger);
    const registry = createRedisClientRegistry({ redis: redis.client, prefix: redis.prefix, logger });
    const audit = openCliAudit(config, redis.client, redis.prefix);
    try {
      await perform(request, registry, async (client) => {
        if (request.action !== 'list') await audit.append(clientActRecord(request.action, client));
      });
    } finally {
      await registry.close();
    }
    return 0;
  } catch (error) {
    if (isContinuumError(error)) {
      process.stderr.write(`${error.detail ?? error.message}\n`);
      return error.code === 'VALIDATION' ? 2 : 1;
    }
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  } finally {
    await redis?.close();
  }
}

function parseRequest(args: string[]): Request {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        name: { type: 'string' },
        tenant: { type: 'string' },
        scopes: { type: 'string' },
        grace: { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const { values, positionals } = parsed;
  const [action, ...operands] = positionals;
  if (values.help || action === undefined || action === 'help') return { action: 'help' };

  const allowOnly = (...allowed: string[]): void => {
    const given = ['name', 'tenant', 'scopes', 'grace'].filter(
      (option) => values[option as keyof typeof values] !== undefined,
    );
    const stray = given.find((option) => !allowed.includes(option));
    if (stray !== undefined) throw new UsageError(`clients ${action}: --${stray} does not apply`);
  };
  const operandCount = (count: number): void => {
    if (operands.length !== count) {
      throw new UsageError(
        count === 0
          ? `clients ${action}: unexpected ${operands.join(' ')}`
          : `clients ${action}: name one client, by id or name`,
      );
    }
  };

  switch (action) {
    case 'create': {
      allowOnly('name', 'tenant', 'scopes');
      operandCount(0);
      const { name, tenant, scopes } = values;
      if (name === undefined || tenant === undefined || scopes === undefined) {
        throw new UsageError('clients create needs --name, --tenant and --scopes');
      }
      const list = scopes
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '');
      return { action, name, tenant, scopes: list, json: values.json };
    }
    case 'list':
      allowOnly();
      operandCount(0);
      return { action, json: values.json };
    case 'revoke':
      allowOnly();
      operandCount(1);
      return { action, client: operands[0] ?? '', json: values.json };
    case 'rotate':
      allowOnly('grace');
      operandCount(1);
      return {
        action,
        client: operands[0] ?? '',
        graceSeconds: values.grace === undefined ? DEFAULT_GRACE_SECONDS : parseGrace(values.grace),
        json: values.json,
      };
    default:
      throw new UsageError(`unknown action: clients ${action}`);
  }
}

/** `24h`, `90m`, `3600s` or `0`. A bare number is refused: seconds or hours is a guess not worth making. */
function parseGrace(text: string): number {
  if (text === '0') return 0;
  const match = /^(\d{1,7})([hms])$/.exec(text);
  if (match === null) throw new UsageError(`--grace ${text}: give a duration like 24h, 90m, 3600s, or 0`);
  const unit = match[2] === 'h' ? 3600 : match[2] === 'm' ? 60 : 1;
  return Number(match[1]) * unit;
}

/** An administrative act on a client, for the audit trail: who ran it (the OS user), on which client. */
function clientActRecord(action: 'create' | 'rotate' | 'revoke', client: ClientInfo): NewAuditRecord {
  const past = { create: 'created', rotate: 'rotated', revoke: 'revoked' } as const;
  return {
    recorded: new Date().toISOString(),
    kind: `client.${past[action]}`,
    action: action === 'create' ? 'C' : 'U',
    subtype: action === 'create' ? 'create' : 'update',
    outcome: 0,
    channel: 'cli',
    tenant: client.tenant,
    agent: cliUser(),
    resources: [`Client/${client.id}`],
  };
}

async function perform(
  request: Exclude<Request, { action: 'help' }>,
  registry: ClientRegistry,
  recordAct: (client: ClientInfo) => Promise<void>,
): Promise<void> {
  const print = (text: string): void => {
    process.stdout.write(`${text}\n`);
  };
  switch (request.action) {
    case 'create': {
      const { client, key } = await registry.create({
        name: request.name,
        tenant: request.tenant,
        scopes: request.scopes as Scope[],
      });
      await recordAct(client);
      if (request.json) {
        print(JSON.stringify(keyAnswer(client, key)));
        return;
      }
      print(
        `Created client ${client.id} (${client.name}) in tenant ${client.tenant}, scopes ${client.scopes.join(', ')}.`,
      );
      print(`API key (send it as "Authorization: Bearer <key>" or "X-API-Key: <key>"):`);
      print(key);
      print('This key will not be shown again: Continuum keeps only its hash. Store it now.');
      return;
    }
    case 'rotate': {
      const { client, key } = await registry.rotate(request.client, request.graceSeconds);
      await recordAct(client);
      if (request.json) {
        print(JSON.stringify(keyAnswer(client, key)));
        return;
      }
      const previous = client.keys.slice(0, -1);
      const until = previous
        .map((k) => k.expiresAt)
        .filter((at) => at !== undefined)
        .sort()
        .at(-1);
      print(`New API key for client ${client.id} (${client.name}):`);
      print(key);
      print('This key will not be shown again: Continuum keeps only its hash. Store it now.');
      print(
        until !== undefined
          ? `The previous key${previous.length > 1 ? 's keep' : ' keeps'} working until ${until}.`
          : 'No previous key works any more.',
      );
      return;
    }
    case 'revoke': {
      const client = await registry.revoke(request.client);
      await recordAct(client);
      if (request.json) {
        print(JSON.stringify(listed(client)));
        return;
      }
      print(
        `Revoked client ${client.id} (${client.name}) at ${client.revokedAt ?? '?'}: none of its keys works any more.`,
      );
      return;
    }
    case 'list': {
      const clients = await registry.list();
      if (request.json) {
        print(JSON.stringify({ clients: clients.map(listed) }, null, 2));
        return;
      }
      print(clients.length === 0 ? 'No clients yet (continuum clients create ...).' : table(clients));
      return;
    }
  }
}

function keyAnswer(client: ClientInfo, key: string): object {
  return { id: client.id, name: client.name, tenant: client.tenant, scopes: client.scopes, key };
}

/** ClientInfo with absent dates as null, so a script sees every field. */
function listed(client: ClientInfo): object {
  return {
    id: client.id,
    name: client.name,
    tenant: client.tenant,
    scopes: client.scopes,
    createdAt: client.createdAt,
    revokedAt: client.revokedAt ?? null,
    keys: client.keys.map((k) => ({ createdAt: k.createdAt, expiresAt: k.expiresAt ?? null })),
  };
}

function table(clients: readonly ClientInfo[]): string {
  const rows = clients.map((c) => {
    const expiring = c.keys
      .filter((k) => k.expiresAt !== undefined)
      .map((k) => `expires ${k.expiresAt ?? ''}`);
    return [
      c.id,
      c.name,
      c.tenant,
      c.scopes.join(','),
      c.createdAt,
      c.revokedAt ?? '-',
      `${c.keys.length}${expiring.length > 0 ? ` (${expiring.join('; ')})` : ''}`,
    ];
  });
  const header = ['ID', 'NAME', 'TENANT', 'SCOPES', 'CREATED', 'REVOKED', 'KEYS'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]?.length ?? 0)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

export interface RegistryRedis {
  readonly client: Redis;
  /** The gateway's hash-tagged key prefix: the registry's keys must be the ones the gateway reads. */
  readonly prefix: string;
  close(): Promise<void>;
}

/** Mirrors adapters/redis/embedded-redis.ts: past this, the embedded Redis has no socket to find. */
const MAX_SOCKET_PATH = 100;

/** The gateway's Redis: `redis.url`, or the embedded one under the data directory. */
export async function openRedis(config: Config, logger: Logger): Promise<RegistryRedis> {
  let embedded: EmbeddedRedis | undefined;
  let target;
  if (config.redis.url !== undefined) {
    target = targetFromUrl(config.redis.url);
  } else {
    // Without a socket, a running gateway's embedded Redis cannot be found, and a second
    // redis-server on the same append-only file would corrupt it.
    if (join(config.dataDir, 'redis', 'redis.sock').length > MAX_SOCKET_PATH) {
      throw new Error(
        `the data directory path is too long to reach the embedded Redis by its socket: set REDIS_URL, or a shorter CONTINUUM_DATA_DIR`,
      );
    }
    // Adopts the running gateway's redis-server through its socket, or starts one on the same data.
    embedded = await startEmbeddedRedis({ dataDir: config.dataDir, binary: config.redis.binary, logger });
    target = embedded.target;
  }
  const client = createRedisConnection(target, 'client', 'clients-cli');
  // Kept to say why Redis did not answer; commands report failures themselves.
  let lastError: Error | undefined;
  client.on('error', (error: Error) => {
    lastError = error;
  });
  const started = embedded;
  const close = async (): Promise<void> => {
    if (client.status === 'ready') {
      await client.quit().catch(() => {
        client.disconnect();
      });
    } else {
      client.disconnect();
    }
    // Only a redis-server this command started is stopped (pid known); an adopted one belongs to
    // the running gateway, and its `stop` would shut it down.
    if (started?.pid !== undefined) await started.stop();
  };
  try {
    await client.ping();
  } catch (error) {
    await close();
    // Not the URL: it may carry a password.
    const reason = lastError ?? error;
    throw new Error(`Redis did not answer: ${reason instanceof Error ? reason.message : String(reason)}`);
  }
  return { client, prefix: `{${config.redis.keyPrefix}}`, close };
}
