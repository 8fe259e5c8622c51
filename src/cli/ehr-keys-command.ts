/**
 * `continuum ehr-keys create|list|rotate`: the keys the gateway signs its SMART Backend Services
 * client assertions with. They live under the data directory, so the command needs no running
 * gateway; running gateways notice the change on disk (or on SIGHUP) and publish it at
 * /.well-known/jwks.json, the URL an EHR such as Epic registers the gateway by.
 */
import { parseArgs } from 'node:util';
import {
  createEhrKey,
  ehrKeyDir,
  ehrKeyStates,
  readEhrKeys,
  rotateEhrKeys,
  type EhrKeyRecord,
  type EhrKeyState,
} from '../../adapters/ehr/oauth/ehr-key-store';
import type { EhrSigningAlgorithm } from '../../adapters/ehr/oauth/private-key';
import type { Config } from '../config/load-config';
import { usageMistake } from './usage-mistake';

export const EHR_KEYS_USAGE = `Usage:
  continuum ehr-keys create [--alg ES384|RS384] [--json]
  continuum ehr-keys list [--json]
  continuum ehr-keys rotate [--alg ES384|RS384] [--overlap 24h|90m|3600s|0] [--json]

The keys sign SMART Backend Services client assertions (connections with auth type smart-backend
and no privateKey of their own). Their public halves are served at /.well-known/jwks.json.
create: a key for the algorithm (default ES384); the newest key of an algorithm signs.
rotate: a new key signs from now on; the key it replaces stays in the JWKS for --overlap
(default 24h), so an EHR that cached the JWKS still verifies, then it is retired.
Running gateways pick up the change without a restart.`;

const DEFAULT_OVERLAP_SECONDS = 24 * 3600;

class UsageError extends Error {}

type Request =
  | { readonly action: 'help' }
  | { readonly action: 'create'; readonly alg: EhrSigningAlgorithm; readonly json: boolean }
  | { readonly action: 'list'; readonly json: boolean }
  | {
      readonly action: 'rotate';
      readonly alg: EhrSigningAlgorithm | undefined;
      readonly overlapSeconds: number;
      readonly json: boolean;
    };

/** Resolves with the exit code (0 done, 2 usage, 1 anything else). */
export async function ehrKeysCommand(
  args: string[],
  readConfig: () => Config,
  out: (text: string) => void = (text) => process.stdout.write(`${text}\n`),
): Promise<number> {
  let request: Request;
  try {
    request = parseRequest(args);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(usageMistake(error.message, EHR_KEYS_USAGE));
    return 2;
  }
  if (request.action === 'help') {
    out(EHR_KEYS_USAGE);
    return 0;
  }
  const dir = ehrKeyDir(readConfig().dataDir);
  try {
    switch (request.action) {
      case 'create': {
        const key = await createEhrKey(dir, request.alg);
        out(
          request.json
            ? JSON.stringify(listed(key, 'active'))
            : `Created EHR signing key ${key.kid} (${key.alg}); it signs from now on.`,
        );
        return 0;
      }
      case 'rotate': {
        const { created, superseded } = await rotateEhrKeys(dir, {
          ...(request.alg !== undefined ? { algorithms: [request.alg] } : {}),
          overlapMs: request.overlapSeconds * 1000,
        });
        if (request.json) {
          out(
            JSON.stringify({
              created: created.map((k) => listed(k, 'active')),
              superseded: superseded.map((k) =>
                listed(k, request.overlapSeconds > 0 ? 'published' : 'retired'),
              ),
            }),
          );
          return 0;
        }
        for (const key of created) out(`New EHR signing key ${key.kid} (${key.alg}) signs from now on.`);
        for (const key of superseded) {
          out(
            request.overlapSeconds > 0
              ? `Key ${key.kid} no longer signs; it stays in the JWKS until ${key.publishedUntil ?? '?'}.`
              : `Key ${key.kid} is retired: no longer in the JWKS.`,
          );
        }
        return 0;
      }
      case 'list': {
        const keys = ehrKeyStates(await readEhrKeys(dir));
        if (request.json) {
          out(JSON.stringify({ keys: keys.map((k) => listed(k.record, k.state)) }, null, 2));
          return 0;
        }
        out(keys.length === 0 ? 'No EHR signing keys yet (continuum ehr-keys create).' : table(keys));
        return 0;
      }
    }
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}

function parseRequest(args: string[]): Request {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        alg: { type: 'string' },
        overlap: { type: 'string' },
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
  if (operands.length > 0) throw new UsageError(`ehr-keys ${action}: unexpected ${operands.join(' ')}`);
  const alg = values.alg === undefined ? undefined : parseAlg(values.alg);
  switch (action) {
    case 'create':
      if (values.overlap !== undefined) throw new UsageError('ehr-keys create: --overlap does not apply');
      return { action, alg: alg ?? 'ES384', json: values.json };
    case 'list':
      if (values.overlap !== undefined || alg !== undefined)
        throw new UsageError('ehr-keys list takes no --alg or --overlap');
      return { action, json: values.json };
    case 'rotate':
      return {
        action,
        alg,
        overlapSeconds:
          values.overlap === undefined ? DEFAULT_OVERLAP_SECONDS : parseDuration(values.overlap),
        json: values.json,
      };
    default:
      throw new UsageError(`unknown action: ehr-keys ${action}`);
  }
}

function parseAlg(text: string): EhrSigningAlgorithm {
  if (text === 'ES384' || text === 'RS384') return text;
  throw new UsageError(`--alg ${text}: must be ES384 or RS384`);
}

/** `24h`, `90m`, `3600s` or `0`, as `continuum clients rotate --grace` takes it. */
function parseDuration(text: string): number {
  if (text === '0') return 0;
  const match = /^(\d{1,7})([hms])$/.exec(text);
  if (match === null) throw new UsageError(`--overlap ${text}: give a duration like 24h, 90m, 3600s, or 0`);
  const unit = match[2] === 'h' ? 3600 : match[2] === 'm' ? 60 : 1;
  return Number(match[1]) * unit;
}

/** What a person or script sees of a key: never its private part. */
function listed(key: EhrKeyRecord, state: EhrKeyState): object {
  return {
    kid: key.kid,
    alg: key.alg,
    state,
    createdAt: key.createdAt,
    supersededAt: key.supersededAt ?? null,
    publishedUntil: key.publishedUntil ?? null,
  };
}

function table(keys: readonly { record: EhrKeyRecord; state: EhrKeyState }[]): string {
  const rows = keys.map(({ record, state }) => [
    record.kid,
    record.alg,
    state,
    record.createdAt,
    state === 'published' ? (record.publishedUntil ?? '-') : '-',
  ]);
  const header = ['KID', 'ALG', 'STATE', 'CREATED', 'PUBLISHED UNTIL'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]?.length ?? 0)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}
