/**
 * `continuum audit verify|export`: the compliance side of the audit trail, without a running
 * gateway. `verify` walks every stream's chain and names the first record that was changed or the
 * gap where records were deleted; `export` writes FHIR AuditEvents as JSON lines, oldest first.
 */
import { parseArgs } from 'node:util';
import type { Config } from '../config/load-config';
import { toAuditEvent } from '../domain/audit-event';
import { createLogger } from '../observability/logger';
import { openCliAudit } from './cli-audit';
import { openRedis, type RegistryRedis } from './clients-command';
import { usageMistake } from './usage-mistake';

export const AUDIT_USAGE = `Usage:
  continuum audit verify [--json]
  continuum audit export [--since ISO-DATE-TIME] [--until ISO-DATE-TIME] > audit.ndjson

verify exits 0 when every chain is intact, 3 when a record was changed or records are missing.
export writes one FHIR R4 AuditEvent per line, oldest first, across every gateway process.`;

class UsageError extends Error {}

function dateOption(name: string, value: string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const date = new Date(value);
  if (Number.isNaN(date.getTime()) || !/^\d{4}-\d{2}-\d{2}/.test(value)) {
    throw new UsageError(`--${name} ${value}: give an ISO 8601 date or date-time`);
  }
  return date;
}

export async function auditCommand(args: string[], readConfig: () => Config): Promise<number> {
  let action: string | undefined;
  let values;
  try {
    const parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        since: { type: 'string' },
        until: { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
    values = parsed.values;
    action = parsed.positionals[0];
    if (parsed.positionals.length > 1)
      throw new UsageError(`unexpected ${parsed.positionals.slice(1).join(' ')}`);
  } catch (error) {
    process.stderr.write(usageMistake(error instanceof Error ? error.message : String(error), AUDIT_USAGE));
    return 2;
  }
  if (values.help || action === undefined || action === 'help') {
    process.stdout.write(`${AUDIT_USAGE}\n`);
    return 0;
  }
  if (action !== 'verify' && action !== 'export') {
    process.stderr.write(usageMistake(`unknown action: audit ${action}`, AUDIT_USAGE));
    return 2;
  }
  let since: Date | undefined;
  let until: Date | undefined;
  try {
    since = dateOption('since', values.since);
    until = dateOption('until', values.until);
  } catch (error) {
    process.stderr.write(usageMistake((error as Error).message, AUDIT_USAGE));
    return 2;
  }

  const config = readConfig();
  const logger = createLogger({ level: 'error', destination: process.stderr });
  let redis: RegistryRedis | undefined;
  try {
    redis = await openRedis(config, logger);
    const audit = openCliAudit(config, redis.client, redis.prefix);
    if (action === 'export') {
      let count = 0;
      for await (const stored of audit.scan(since, until)) {
        const line = `${JSON.stringify(toAuditEvent(stored.id, stored.record))}\n`;
        if (!process.stdout.write(line))
          await new Promise((resolve) => process.stdout.once('drain', resolve));
        count++;
      }
      process.stderr.write(`exported ${count} audit records\n`);
      return 0;
    }
    const result = await audit.verify();
    if (values.json) {
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    } else {
      process.stdout.write(`checked ${result.records} records in ${result.streams} streams\n`);
      for (const p of result.problems) {
        process.stdout.write(`BROKEN ${p.stream} at ${p.entry}: ${p.detail}\n`);
      }
      if (result.problems.length === 0) process.stdout.write('every chain is intact\n');
    }
    return result.problems.length === 0 ? 0 : 3;
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  } finally {
    await redis?.close();
  }
}
