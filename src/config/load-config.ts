/**
 * Reads `continuum.config.yaml` (path from CONTINUUM_CONFIG), interpolates `${ENV}`, applies the
 * documented environment overrides, validates with zod, and resolves the embedded defaults into
 * one frozen Config. Every problem is reported as `key.path: reason`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import type { z } from 'zod';
import {
  configSchema,
  defaultConnectionConfig,
  type ConnectionConfig,
  type RawConfig,
} from './config-schema';
import type { Tenant } from '../domain/access';
import { interpolateEnv, type InterpolationProblem } from './interpolate-env';

export const DEFAULT_CONFIG_FILE = 'continuum.config.yaml';

export interface ResolvedConnection extends Omit<ConnectionConfig, 'drain'> {
  readonly drain: ConnectionConfig['drain'] & { readonly adaptive: boolean };
  readonly name: string;
  /** Undefined only for the sandbox connection before the server knows its own port. */
  readonly baseUrl: string | undefined;
  /** True when this connection points at the built-in sandbox. */
  readonly sandbox: boolean;
}

export interface Config extends Omit<RawConfig, 'connections' | 'defaultConnection' | 'sandbox' | 'tenants'> {
  readonly configFile: string | undefined;
  /** Always at least one: `default`, with every connection, when the file names none. */
  readonly tenants: Readonly<Record<string, Tenant>>;
  readonly sandbox: RawConfig['sandbox'] & { readonly enabled: boolean };
  readonly connections: Readonly<Record<string, ResolvedConnection>>;
  readonly defaultConnection: string;
  readonly mappingsDir: string;
  readonly dataDir: string;
}

export class ConfigError extends Error {
  constructor(
    readonly source: string,
    readonly problems: readonly string[],
  ) {
    super(`Invalid configuration (${source}):\n${problems.map((p) => `  ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export interface LoadConfigOptions {
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly cwd?: string;
  /** Defaults to the project's own mappings/ folder. */
  readonly builtInMappingsDir: string;
  /** Values applied over the file (tests and the CLI use it). */
  readonly overrides?: Readonly<Record<string, unknown>>;
}

/** Environment variables that override config keys: documented in README.md. */
function applyEnvOverrides(raw: Record<string, unknown>, env: LoadConfigOptions['env'] & object): void {
  const section = (name: string): Record<string, unknown> => {
    const existing = raw[name];
    if (existing !== null && typeof existing === 'object' && !Array.isArray(existing)) {
      return existing as Record<string, unknown>;
    }
    const created: Record<string, unknown> = {};
    raw[name] = created;
    return created;
  };
  if (env.PORT !== undefined && env.PORT !== '') section('server').port = Number(env.PORT);
  if (env.HOST !== undefined && env.HOST !== '') section('server').host = env.HOST;
  if (env.REDIS_URL !== undefined && env.REDIS_URL !== '') section('redis').url = env.REDIS_URL;
  if (env.CONTINUUM_DATA_DIR !== undefined && env.CONTINUUM_DATA_DIR !== '')
    raw.dataDir = env.CONTINUUM_DATA_DIR;
  if (env.LOG_LEVEL !== undefined && env.LOG_LEVEL !== '') section('logging').level = env.LOG_LEVEL;
  if (env.CONTINUUM_REQUIRE_DURABILITY !== undefined && env.CONTINUUM_REQUIRE_DURABILITY !== '') {
    section('redis').requireDurability = env.CONTINUUM_REQUIRE_DURABILITY !== 'false';
  }
}

function deepMerge(
  base: Record<string, unknown>,
  over: Readonly<Record<string, unknown>>,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const current = out[key];
    if (
      value !== null &&
      typeof value === 'object' &&
      !Array.isArray(value) &&
      current !== null &&
      typeof current === 'object' &&
      !Array.isArray(current)
    ) {
      out[key] = deepMerge(current as Record<string, unknown>, value as Record<string, unknown>);
    } else {
      out[key] = value;
    }
  }
  return out;
}

function formatIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.map((issue) => {
    const path = issue.path.map(String).join('.');
    if (issue.code === 'unrecognized_keys') {
      const prefix = path ? `${path}.` : '';
      return issue.keys.map((k) => `${prefix}${k}: unknown key`).join('\n  ');
    }
    return `${path || '(root)'}: ${issue.message}`;
  });
}

function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(file, [
      `cannot read the file: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
    ]);
  }
  let parsed: unknown;
  try {
    parsed = parseYaml(text);
  } catch (error) {
    const where = error instanceof YAMLParseError && error.linePos ? ` at line ${error.linePos[0].line}` : '';
    throw new ConfigError(file, [`(file): not valid YAML${where}`]);
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigError(file, ['(root): must be a mapping of keys to values']);
  }
  return parsed as Record<string, unknown>;
}

export function loadConfig(options: LoadConfigOptions): Config {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const explicit = env.CONTINUUM_CONFIG;
  let configFile: string | undefined;
  if (explicit !== undefined && explicit !== '') {
    configFile = isAbsolute(explicit) ? explicit : resolve(cwd, explicit);
    if (!existsSync(configFile))
      throw new ConfigError(configFile, ['(file): does not exist (CONTINUUM_CONFIG)']);
  } else if (existsSync(resolve(cwd, DEFAULT_CONFIG_FILE))) {
    configFile = resolve(cwd, DEFAULT_CONFIG_FILE);
  }
  const source = configFile ?? 'embedded defaults';

  const fileValues = configFile ? readConfigFile(configFile) : {};
  const problems: InterpolationProblem[] = [];
  let raw = interpolateEnv(fileValues, env, problems) as Record<string, unknown>;
  if (problems.length > 0)
    throw new ConfigError(
      source,
      problems.map((p) => `${p.path}: ${p.message}`),
    );
  applyEnvOverrides(raw, env);
  if (options.overrides) raw = deepMerge(raw, options.overrides);

  const result = configSchema.safeParse(raw);
  if (!result.success) throw new ConfigError(source, formatIssues(result.error.issues));
  return resolveConfig(result.data, configFile, cwd, options.builtInMappingsDir);
}

/**
 * A connection to the built-in sandbox that names no sign-in of its own signs in the way
 * `sandbox.auth` makes the sandbox require, as the sandbox's registered client: turning the
 * sandbox's OAuth on is then one switch for a drill, not two halves to keep in step.
 */
function builtInSandboxAuth(
  sandboxAuth: RawConfig['sandbox']['auth'],
  auth: ResolvedConnection['auth'],
): ResolvedConnection['auth'] {
  if (auth.type !== 'none') return auth;
  if (sandboxAuth.mode === 'smart-backend') {
    return {
      type: 'smart-backend',
      clientId: sandboxAuth.clientId,
      scopes: [...sandboxAuth.scopes],
      algorithm: 'ES384',
    };
  }
  if (sandboxAuth.mode === 'client-credentials' && sandboxAuth.clientSecret !== undefined) {
    return {
      type: 'client-credentials',
      clientId: sandboxAuth.clientId,
      clientSecret: sandboxAuth.clientSecret,
      method: 'client_secret_basic',
      scopes: [...sandboxAuth.scopes],
    };
  }
  return auth;
}

function resolveConfig(
  raw: RawConfig,
  configFile: string | undefined,
  cwd: string,
  builtInMappingsDir: string,
): Config {
  const problems: string[] = [];
  const configured = raw.connections ?? {};
  const hasConfigured = Object.keys(configured).length > 0;
  const sandboxEnabled = raw.sandbox.enabled ?? !hasConfigured;

  const connections: Record<string, ResolvedConnection> = {};
  for (const [name, connection] of Object.entries(configured)) {
    const isSandbox = connection.baseUrl === undefined;
    if (isSandbox && !sandboxEnabled) {
      problems.push(`connections.${name}.baseUrl: required (the built-in sandbox is disabled)`);
    }
    const auth = isSandbox ? builtInSandboxAuth(raw.sandbox.auth, connection.auth) : connection.auth;
    connections[name] = {
      ...connection,
      auth,
      name,
      baseUrl: connection.baseUrl,
      sandbox: isSandbox,
      drain: { ...connection.drain, adaptive: connection.drain.adaptive ?? !isSandbox },
    };
  }
  if (!hasConfigured) {
    const defaults = defaultConnectionConfig();
    connections.sandbox = {
      ...defaults,
      auth: builtInSandboxAuth(raw.sandbox.auth, defaults.auth),
      name: 'sandbox',
      baseUrl: undefined,
      sandbox: true,
      drain: { ...defaults.drain, adaptive: defaults.drain.adaptive ?? false },
    };
  }
  const names = Object.keys(connections);
  const defaultConnection = raw.defaultConnection ?? names[0] ?? 'sandbox';
  if (!(defaultConnection in connections)) {
    problems.push(
      `defaultConnection: no connection named "${defaultConnection}" (have: ${names.join(', ')})`,
    );
  }
  const tenants = resolveTenants(raw, names, defaultConnection, problems);
  for (const name of Object.keys(raw.limits.perTenant)) {
    if (!(name in tenants)) problems.push(`limits.perTenant.${name}: no tenant named "${name}"`);
  }
  if (problems.length > 0) throw new ConfigError(configFile ?? 'embedded defaults', problems);

  const { connections: _c, defaultConnection: _d, sandbox, tenants: _t, ...rest } = raw;
  const config: Config = {
    ...rest,
    configFile,
    sandbox: { ...sandbox, enabled: sandboxEnabled },
    connections,
    defaultConnection,
    tenants,
    dataDir: resolve(cwd, raw.dataDir),
    mappingsDir: raw.mappings.dir !== undefined ? resolve(cwd, raw.mappings.dir) : builtInMappingsDir,
  };
  return deepFreeze(config);
}

function resolveTenants(
  raw: RawConfig,
  connectionNames: readonly string[],
  defaultConnection: string,
  problems: string[],
): Record<string, Tenant> {
  const tenants: Record<string, Tenant> = {};
  const configured = raw.tenants ?? {};
  for (const [name, tenant] of Object.entries(configured)) {
    for (const connection of tenant.connections) {
      if (!connectionNames.includes(connection)) {
        problems.push(`tenants.${name}.connections: no connection named "${connection}"`);
      }
    }
    tenants[name] = { name, connections: tenant.connections, locations: tenant.locations };
  }
  if (Object.keys(configured).length === 0) {
    // The default connection first: it is the tenant's default.
    const ordered = [defaultConnection, ...connectionNames.filter((n) => n !== defaultConnection)];
    tenants.default = { name: 'default', connections: ordered, locations: undefined };
  }
  if (!(raw.auth.adminTenant in tenants)) {
    problems.push(
      `auth.adminTenant: no tenant named "${raw.auth.adminTenant}" (have: ${Object.keys(tenants).join(', ')})`,
    );
  }
  for (const subscriber of raw.events.subscribers) {
    if (subscriber.kind === 'webhook' && subscriber.tenant !== undefined && !(subscriber.tenant in tenants)) {
      problems.push(`events.subscribers.${subscriber.name}.tenant: no tenant named "${subscriber.tenant}"`);
    }
  }
  const issuers = new Set([raw.auth.issuer]);
  for (const idp of raw.auth.identityProviders) {
    if (issuers.has(idp.issuer)) {
      problems.push(
        `auth.identityProviders.${idp.name}.issuer: already the issuer of the gateway or another provider`,
      );
    }
    issuers.add(idp.issuer);
    if (!(idp.tenant in tenants)) {
      problems.push(`auth.identityProviders.${idp.name}.tenant: no tenant named "${idp.tenant}"`);
    }
  }
  return tenants;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
