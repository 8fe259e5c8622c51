#!/usr/bin/env node
/**
 * The `continuum` command: start the gateway, run the sandbox EHR alone, check a config file, or
 * run a mapping profile's fixtures. Signal handlers live here and only here.
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { RedisUnavailableError } from '../../adapters/redis/embedded-redis';
import {
  FaultSpecError,
  parseFaultSpec,
  startSandboxServer,
  type FaultMode,
} from '../../adapters/ehr/sandbox';
import { ConfigError, loadConfig, type Config } from '../config/load-config';
import { checkConnectionProfiles } from '../wiring/connection-profiles';
import { formatProblem, loadMappingProfile, MappingProfileError, runProfileFixtures } from '../mapping';
import { projectRoot } from '../project-root';
import { clientsCommand } from './clients-command';
import { ehrKeysCommand } from './ehr-keys-command';
import { auditCommand } from './audit-command';
import { SANDBOX_AUTH_FLAGS, SANDBOX_AUTH_USAGE, sandboxAuthFromFlags } from './sandbox-auth-flags';
import { opsCommand, OPS_USAGE } from './ops-command';
import { MAPPINGS_USAGE, runMappingsCommand } from './run-mappings-command';
import { subscriptionsCommand, SUBSCRIPTIONS_USAGE } from './subscriptions-command';
import { startGateway, StartupError } from '../main';
import { adminKeyPath } from '../wiring/admin-client';
import { drillCommand } from './drill/drill-command';
import { mappingsDiffCommand, MAPPINGS_DIFF_USAGE } from './mappings-diff-command';

const USAGE = `Usage:
  continuum start [--role all|api|worker]   run the gateway (default role: all)
  continuum sandbox [--port N] [--host H] [--token T]   run the sandbox FHIR R4 EHR alone (a token is required beyond loopback)
${SANDBOX_AUTH_USAGE}   require OAuth tokens on its FHIR API
  continuum config check                    validate the configuration and exit
  continuum mappings test [--profile NAME]  run a mapping profile's fixtures
  continuum mappings explain|try --profile NAME (--patient ID | --file F.json) ...   a profile on one record (continuum mappings --help)
  continuum mappings diff HASH_A HASH_B [--url URL --key KEY]   what changed between two profile versions
  continuum ops status|list|show|retry|cancel|replay ...   operate the write pipeline (continuum ops --help)
  continuum subscriptions sync [--connection NAME] [--ehr-url URL]   put the EHR's FHIR Subscriptions in place
  continuum clients create|list|revoke|rotate ...   API clients and their keys (continuum clients --help)
  continuum audit verify|export ...                 check the audit trail's chains; export it as AuditEvents
  continuum ehr-keys create|list|rotate ...         keys for SMART Backend Services sign-in to EHRs (continuum ehr-keys --help)
  continuum drill run --scenario outage|surge|closure|credentials [--duration 5m] ...   rehearse a crisis; writes a report (continuum drill --help)

Configuration: continuum.config.yaml in the working directory, or the file named by
CONTINUUM_CONFIG; PORT, REDIS_URL, CONTINUUM_DATA_DIR and LOG_LEVEL override it.`;

function readConfig(): Config {
  return loadConfig({ builtInMappingsDir: join(projectRoot(), 'mappings') });
}

/** The admin key file of this directory's gateway, if its configuration reads. */
function adminKeyFileOf(): string | undefined {
  try {
    return adminKeyPath(readConfig());
  } catch {
    return undefined;
  }
}

function fail(message: string, code: number): never {
  process.stderr.write(`${message}\n`);
  process.exit(code);
}

async function startCommand(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { role: { type: 'string', default: 'all' } } });
  const role = values.role;
  if (role !== 'all' && role !== 'api' && role !== 'worker') fail(`--role must be all, api or worker`, 2);
  const config = readConfig();
  const gateway = await startGateway({ config, role });
  const everywhere = config.server.host === '0.0.0.0' || config.server.host === '::';
  process.stderr.write(
    everywhere
      ? `Continuum listening on every interface, port ${gateway.port} (locally ${gateway.url}, role ${role})\n`
      : `Continuum listening on ${gateway.url} (role ${role})\n`,
  );
  if (gateway.adminKeyFile !== undefined) {
    process.stderr.write(
      `No API client existed: created "admin" with every scope; its key is in ${gateway.adminKeyFile}\n` +
        `  (KEY=$(cat ${gateway.adminKeyFile}); curl -H "Authorization: Bearer $KEY" ...)\n`,
    );
  }

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    gateway.logger.info({ signal }, 'shutting down');
    const force = setTimeout(() => {
      gateway.logger.error({}, 'shutdown grace period exceeded; exiting');
      process.exit(1);
    }, config.server.shutdownGraceMs);
    force.unref();
    gateway.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', () => {
    stop('SIGTERM');
  });
  process.on('SIGINT', () => {
    stop('SIGINT');
  });
  // SIGHUP: re-read EHR credentials (secret and key files, the EHR key directory) and the mapping
  // profiles (checked first; the running versions stay when the new ones fail) without a restart.
  process.on('SIGHUP', () => {
    gateway.logger.info({ signal: 'SIGHUP' }, 're-reading EHR credentials and mapping profiles');
    gateway.ehrCredentials.reloadCredentials().catch((error: unknown) => {
      gateway.logger.error({ err: error }, 'EHR credentials not re-read');
    });
    gateway.reloadMappings('signal').catch((error: unknown) => {
      gateway.logger.error({ err: error }, 'mapping profiles not re-read');
    });
  });
}

async function sandboxCommand(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      port: { type: 'string', default: '8081' },
      host: { type: 'string', default: '127.0.0.1' },
      // Required beyond loopback: a sandbox others can reach needs a credential like the gateway's.
      token: { type: 'string' },
      seed: { type: 'string' },
      patients: { type: 'string' },
      // Stage an outage from the start: down, down:http503, slow:800, flaky:0.3[:0.5], capacity:16:40, or JSON.
      faults: { type: 'string' },
      ...SANDBOX_AUTH_FLAGS,
    },
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) fail('--port must be a port number', 2);
  let faults: FaultMode | undefined;
  try {
    faults = values.faults !== undefined ? parseFaultSpec(values.faults) : undefined;
  } catch (error) {
    if (error instanceof FaultSpecError) fail(`--faults: ${error.message}`, 2);
    throw error;
  }
  const authFlags = sandboxAuthFromFlags(values, process.env);
  if ('error' in authFlags) fail(authFlags.error, 2);
  const token = values.token ?? process.env.CONTINUUM_SANDBOX_TOKEN;
  const loopback = ['127.0.0.1', 'localhost', '::1'].includes(values.host);
  if (!loopback && (token === undefined || token.length < 16)) {
    fail('--token (16 characters or more) is required when the sandbox listens beyond loopback', 2);
  }
  const server = await startSandboxServer({
    port,
    host: values.host,
    ...(token !== undefined ? { token } : {}),
    ...(values.seed !== undefined ? { seed: Number(values.seed) } : {}),
    ...(values.patients !== undefined ? { patientCount: Number(values.patients) } : {}),
    ...(faults !== undefined ? { faults } : {}),
    auth: authFlags.auth,
  });
  process.stderr.write(`Sandbox FHIR R4 EHR at ${server.url}\n`);
  const adminUrl = `${new URL(server.url).origin}/sandbox/admin/faults`;
  process.stderr.write(
    `Fault mode: ${JSON.stringify(server.faults.get().mode)} (change it at ${adminUrl})\n`,
  );
  if (server.capacity.get().active) {
    process.stderr.write(`Capacity figures: ${new URL(server.url).origin}/sandbox/admin/capacity\n`);
  }
  if (authFlags.auth.mode !== 'none') {
    process.stderr.write(`OAuth (${authFlags.auth.mode}): token endpoint ${server.tokenUrl}\n`);
  }
  const stop = (): void => {
    server.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

async function configCheckCommand(): Promise<void> {
  const config = readConfig();
  // Exactly what start checks of the profiles: they load (lint included), their fixtures pass, and no
  // connection would send the sandbox's MRN system to a real EHR. Found here, before a deployment.
  const { loaded, problems } = await checkConnectionProfiles(config);
  if (problems.length > 0) {
    fail(
      `Configuration is not valid (${config.configFile ?? 'embedded defaults'}): its mapping profiles cannot start:\n` +
        problems.map((problem) => `  ${formatProblem(problem)}`).join('\n'),
      2,
    );
  }
  const connections = Object.values(config.connections)
    .map((c) => `${c.name} (${c.sandbox ? 'built-in sandbox' : (c.baseUrl ?? '')})`)
    .join(', ');
  const mappings = [...loaded.values()]
    .map(({ profile }) => `${profile.name} (${profile.hash.slice(0, 12)})`)
    .join(', ');
  process.stdout.write(
    `Configuration is valid (${config.configFile ?? 'embedded defaults'}).\n` +
      `  Redis: ${config.redis.url !== undefined ? 'external' : `embedded under ${config.dataDir}/redis`}\n` +
      `  EHR connections: ${connections}\n` +
      `  Mapping profiles: ${mappings} (fixtures pass)\n`,
  );
}

async function mappingsTestCommand(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { profile: { type: 'string' } } });
  const config = readConfig();
  const names =
    values.profile !== undefined
      ? [values.profile]
      : [...new Set(Object.values(config.connections).map((c) => c.mappingProfile))];
  let failed = 0;
  for (const name of names) {
    const dir = join(config.mappingsDir, name);
    const profile = await loadMappingProfile(dir, { defaultRegion: config.phone.defaultRegion });
    const results = await runProfileFixtures(dir, profile);
    process.stdout.write(`profile ${name} (${profile.hash.slice(0, 12)}):\n`);
    for (const result of results) {
      process.stdout.write(`  ${result.passed ? 'ok  ' : 'FAIL'} ${result.name}\n`);
      if (!result.passed) {
        failed++;
        if (result.diff !== undefined) process.stdout.write(`${result.diff.replace(/^/gm, '       ')}\n`);
      }
    }
  }
  if (failed > 0) fail(`${failed} fixture(s) failed`, 1);
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'start':
    case undefined:
      return startCommand(rest);
    case 'sandbox':
      return sandboxCommand(rest);
    case 'config':
      if (rest[0] !== 'check') fail(USAGE, 2);
      await configCheckCommand();
      return;
    case 'ops':
      if (rest[0] === undefined || rest[0] === '--help') {
        process.stdout.write(`${OPS_USAGE}\n`);
        return;
      }
      return opsCommand(rest, () => {
        try {
          return adminKeyPath(readConfig());
        } catch {
          return undefined;
        }
      });
    case 'subscriptions': {
      if (rest[0] === undefined || rest[0] === '--help') {
        process.stdout.write(`${SUBSCRIPTIONS_USAGE}\n`);
        return;
      }
      process.exitCode = await subscriptionsCommand(rest, readConfig());
      return;
    }
    case 'clients':
      process.exitCode = await clientsCommand(rest, readConfig);
      return;
    case 'audit':
      process.exitCode = await auditCommand(rest, readConfig);
      return;
    case 'ehr-keys':
      process.exitCode = await ehrKeysCommand(rest, readConfig);
      return;
    case 'drill':
      process.exitCode = await drillCommand(rest, {
        env: process.env,
        cwd: process.cwd(),
        out: (text) => process.stdout.write(text),
        err: (text) => process.stderr.write(text),
      });
      return;
    case 'mappings':
      if (rest[0] === 'explain' || rest[0] === 'try') return runMappingsCommand(rest, readConfig);
      if (rest[0] === 'diff') {
        process.exitCode = await mappingsDiffCommand(rest.slice(1), adminKeyFileOf, {
          out: (text) => process.stdout.write(text),
          err: (text) => process.stderr.write(text),
          colour: process.stdout.isTTY && process.env.NO_COLOR === undefined,
        });
        return;
      }
      if (rest[0] === '--help') {
        process.stdout.write(`${MAPPINGS_USAGE}\n`);
        return;
      }
      if (rest[0] !== 'test') fail(USAGE, 2);
      return mappingsTestCommand(rest.slice(1));
    case '--help':
    case '-h':
    case 'help':
      process.stdout.write(`${USAGE}\n`);
      return;
    default:
      fail(USAGE, 2);
  }
}

/** node:util parseArgs refusing the command line: a usage mistake, not a crash. */
const PARSE_ARGS_ERRORS = new Set([
  'ERR_PARSE_ARGS_UNKNOWN_OPTION',
  'ERR_PARSE_ARGS_INVALID_OPTION_VALUE',
  'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL',
]);

function usageOf(command: string | undefined): string {
  if (command === 'ops') return OPS_USAGE;
  if (command === 'subscriptions') return SUBSCRIPTIONS_USAGE;
  if (command === 'mappings' && process.argv[3] === 'diff') return MAPPINGS_DIFF_USAGE;
  return USAGE;
}

main(process.argv.slice(2)).catch((error: unknown) => {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && PARSE_ARGS_ERRORS.has(code) && error instanceof Error)
    fail(`continuum: ${error.message}\n${usageOf(process.argv[2])}`, 2);
  if (error instanceof ConfigError) fail(error.message, 2);
  if (error instanceof MappingProfileError) fail(error.message, 2);
  if (error instanceof StartupError || error instanceof RedisUnavailableError)
    fail(`Continuum cannot start: ${error.message}`, 1);
  console.error(error);
  process.exit(1);
});
