/**
 * `continuum subscriptions sync`: creates or updates, on each EHR, the FHIR Subscriptions that point at
 * this gateway's webhook endpoint (`connections.<name>.subscriptions`). Talks to the EHR directly with
 * the connection's own base URL and credentials; for the built-in sandbox that is the running gateway's
 * `/sandbox/fhir`.
 */
import { parseArgs } from 'node:util';
import type { Config, ResolvedConnection } from '../config/load-config';
import { formatSyncResult, syncSubscriptions } from '../use-cases/sync-subscriptions';
import { createEhrClient, ehrBaseUrl } from '../wiring/ehr-client';
import { sandboxCredential } from '../wiring/sandbox-credential';
import { commandEhrTokens } from '../wiring/ehr-credentials';
import { createLogger } from '../observability/logger';

export const SUBSCRIPTIONS_USAGE = `Usage:
  continuum subscriptions sync [--connection NAME] [--ehr-url FHIR_BASE]

Creates or updates, idempotently, one rest-hook Subscription per resource type of
connections.<name>.subscriptions, pointing at its publicUrl and signed per connections.<name>.webhooks.
Prints one line per Subscription (created, updated, unchanged); exit code 1 if any failed.
  --connection NAME     only this connection (default: every connection with subscriptions)
  --ehr-url FHIR_BASE   the EHR's FHIR base URL instead of the configured one; for the built-in sandbox,
                        the running gateway's /sandbox/fhir (default http://127.0.0.1:<server.port>/sandbox/fhir)`;

class UsageError extends Error {}

/** Runs the sync; resolves with the exit code (0: every Subscription in place, 1: some failed, 2: usage). */
export async function subscriptionsCommand(args: string[], config: Config): Promise<number> {
  try {
    return await run(args, config);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`${error.message}\n${SUBSCRIPTIONS_USAGE}\n`);
    return 2;
  }
}

async function run(args: string[], config: Config): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: { connection: { type: 'string' }, 'ehr-url': { type: 'string' } },
    });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const { values, positionals } = parsed;
  if (positionals[0] !== 'sync' || positionals.length > 1) {
    throw new UsageError(`unknown subcommand: subscriptions ${positionals.join(' ')}`);
  }
  const ehrUrl = values['ehr-url'];
  if (ehrUrl !== undefined && !URL.canParse(ehrUrl)) throw new UsageError(`--ehr-url ${ehrUrl}: not a URL`);

  let connections: ResolvedConnection[];
  if (values.connection !== undefined) {
    const named = config.connections[values.connection];
    if (named === undefined) {
      throw new UsageError(
        `--connection ${values.connection}: no such connection (have: ${Object.keys(config.connections).join(', ')})`,
      );
    }
    connections = [named];
  } else {
    connections = Object.values(config.connections).filter((c) => c.subscriptions !== undefined);
    if (connections.length === 0) {
      process.stderr.write(
        'No connection has subscriptions configured (connections.<name>.subscriptions.publicUrl): nothing to sync.\n',
      );
      return 1;
    }
    if (ehrUrl !== undefined && connections.length > 1) {
      throw new UsageError('--ehr-url names one EHR: add --connection NAME');
    }
  }

  // Only errors, on stderr: stdout carries the results.
  const logger = createLogger({ level: 'error', destination: process.stderr });
  let failed = 0;
  for (const connection of connections) {
    const subscriptions = connection.subscriptions;
    if (subscriptions === undefined) {
      process.stderr.write(
        `${connection.name}: error: no subscriptions configured (connections.${connection.name}.subscriptions)\n`,
      );
      failed++;
      continue;
    }
    const baseUrl = ehrUrl ?? ehrBaseUrl(connection, config.server.port);
    const tokens = await commandEhrTokens(config, connection, baseUrl, logger);
    const ehr = createEhrClient(connection, baseUrl, {
      sandboxCredential: sandboxCredential(config),
      defaultDeadlineMs: connection.writeTimeoutMs,
      ...(tokens !== undefined ? { tokens } : {}),
    });
    const results = await syncSubscriptions(ehr, {
      connection: connection.name,
      publicUrl: subscriptions.publicUrl,
      resources: subscriptions.resources,
      webhooks: connection.webhooks,
    });
    for (const result of results) {
      if (result.action === 'error') {
        failed++;
        process.stderr.write(`${formatSyncResult(result)}\n`);
      } else {
        process.stdout.write(`${formatSyncResult(result)}\n`);
      }
    }
  }
  return failed > 0 ? 1 : 0;
}
