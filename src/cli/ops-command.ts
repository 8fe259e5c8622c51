/**
 * `continuum ops ...`: the operator's view of the write pipeline from a terminal. It talks to a
 * running gateway's HTTP API (the same use cases, the same checks), so it works against any
 * deployment an operator can reach, and needs no Redis credentials of its own.
 */
import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { ConnectionStatus } from '../use-cases/pipeline-status';
import type { ReplayPlan, ReplayRun } from '../use-cases/replay-operations';

export const OPS_USAGE = `Usage:
  continuum ops status                                  breaker, backlog and drain ETA per connection
  continuum ops list [--status failed] [--since ISO] [--patient ID] [--connection NAME] [--limit N]
  continuum ops show OPERATION_ID
  continuum ops retry OPERATION_ID
  continuum ops cancel OPERATION_ID
  continuum ops replay (--status failed|needs-review | --since ISO | --connection NAME | --all)
                       [--limit N] [--rate PER_SECOND] [--apply]
                                                        lists what would be re-sent; --apply re-sends it
  continuum ops replay-status REPLAY_ID | replay-stop REPLAY_ID
  continuum ops events                                  event subscribers: disabled?, waiting, dead letters
  continuum ops events-replay SUBSCRIBER                enable a subscriber again, re-send its dead letters
Options: --url http://host:port (default http://127.0.0.1:$PORT or :8080), --json for raw JSON,
  --key KEY (default: $CONTINUUM_API_KEY, else the admin key file of this directory's gateway).`;

interface Receipt {
  operationId: string;
  kind: string;
  status: string;
  patientId: string | null;
  resourceRef: string | null;
  attempts: number;
  lastError: { code: string; detail?: string } | null;
  createdAt: string;
}

async function call(method: string, url: string, key: string, body?: unknown): Promise<unknown> {
  const res = await fetch(url, {
    method,
    headers: {
      authorization: `Bearer ${key}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const parsed = (await res.json().catch(() => ({}))) as { detail?: string; code?: string };
  if (!res.ok) throw new Error(`${res.status} ${parsed.code ?? ''}: ${parsed.detail ?? res.statusText}`);
  return parsed;
}

function row(r: Receipt): string {
  const error = r.lastError ? r.lastError.code : '';
  return [
    r.operationId,
    r.kind.padEnd(14),
    r.status.padEnd(12),
    String(r.attempts).padStart(3),
    r.createdAt,
    r.resourceRef ?? r.patientId ?? '',
    error,
  ].join('  ');
}

/**
 * The key to present: `--key`, else CONTINUUM_API_KEY, else the admin key file the gateway wrote on
 * its first start (when this command runs where the gateway runs).
 */
export function apiKey(given: string | undefined, adminKeyFile: () => string | undefined): string {
  const fromEnv = process.env.CONTINUUM_API_KEY;
  if (given !== undefined && given !== '') return given;
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  const file = adminKeyFile();
  if (file !== undefined && existsSync(file)) return readFileSync(file, 'utf8').trim();
  throw new Error(
    'no API key: pass --key, set CONTINUUM_API_KEY, or run where the gateway wrote its admin key',
  );
}

export async function opsCommand(args: string[], adminKeyFile: () => string | undefined): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      url: { type: 'string', default: `http://127.0.0.1:${process.env.PORT ?? '8080'}` },
      key: { type: 'string' },
      json: { type: 'boolean', default: false },
      status: { type: 'string', multiple: true },
      since: { type: 'string' },
      patient: { type: 'string' },
      connection: { type: 'string' },
      limit: { type: 'string' },
      rate: { type: 'string' },
      all: { type: 'boolean', default: false },
      apply: { type: 'boolean', default: false },
    },
  });
  const [action, id] = positionals;
  const base = values.url.replace(/\/+$/, '');
  const key = apiKey(values.key, adminKeyFile);
  const print = (value: unknown, text: () => string): void => {
    console.log(values.json ? JSON.stringify(value, null, 2) : text());
  };
  const needId = (): string => {
    if (id === undefined) throw new Error(`${action ?? 'this action'} needs an id\n${OPS_USAGE}`);
    return encodeURIComponent(id);
  };

  switch (action) {
    case 'status': {
      const status = (await call('GET', `${base}/v1/status`, key)) as {
        connections: Record<string, ConnectionStatus>;
      };
      print(status, () =>
        Object.entries(status.connections)
          .map(
            ([name, s]) =>
              `${name}: breaker ${s.breaker.state}; queued ${s.queue.queued}, sending ${s.queue.sending}, failed ${s.queue.failed}, ` +
              `needs-review ${s.queue.needsReview}; oldest pending ${s.queue.oldestPendingAgeSeconds ?? '-'} s; ` +
              `drain ${s.drain.perSecond}/s, ETA ${s.drain.etaSeconds ?? 'unknown'} s`,
          )
          .join('\n'),
      );
      return;
    }
    case 'list': {
      const query = new URLSearchParams({ status: values.status?.[0] ?? 'failed' });
      if (values.since) query.set('since', values.since);
      if (values.patient) query.set('patient', values.patient);
      if (values.connection) query.set('connection', values.connection);
      if (values.limit) query.set('limit', values.limit);
      const list = (await call('GET', `${base}/v1/operations?${query.toString()}`, key)) as {
        count: number;
        operations: Receipt[];
      };
      print(list, () => [`${list.count} operation(s)`, ...list.operations.map(row)].join('\n'));
      return;
    }
    case 'show': {
      const receipt = (await call('GET', `${base}/v1/operations/${needId()}`, key)) as Receipt;
      print(receipt, () => JSON.stringify(receipt, null, 2));
      return;
    }
    case 'retry':
    case 'cancel': {
      const receipt = (await call('POST', `${base}/v1/operations/${needId()}/${action}`, key)) as Receipt;
      print(receipt, () => row(receipt));
      return;
    }
    case 'replay': {
      const body = {
        ...(values.status ? { status: values.status } : {}),
        ...(values.all ? { all: true } : {}),
        dryRun: !values.apply,
        ...(values.since ? { since: values.since } : {}),
        ...(values.connection ? { connection: values.connection } : {}),
        ...(values.limit ? { limit: Number(values.limit) } : {}),
        ...(values.rate ? { ratePerSecond: Number(values.rate) } : {}),
      };
      const result = await call('POST', `${base}/v1/operations/replay`, key, body);
      if (!values.apply) {
        const plan = result as ReplayPlan;
        print(plan, () =>
          [
            `dry run: ${plan.count} operation(s) would be re-sent; duplicate risk ${plan.duplicateRisk.count} (${plan.duplicateRisk.note})`,
            ...plan.operations.map(
              (o) => `${o.operationId}  ${o.kind}  ${o.status}  ${o.lastErrorCode ?? ''}`,
            ),
          ].join('\n'),
        );
      } else {
        const run = result as ReplayRun;
        print(
          run,
          () =>
            `replay ${run.replayId} started: ${run.total} operation(s) at ${run.ratePerSecond}/s (stop: continuum ops replay-stop ${run.replayId})`,
        );
      }
      return;
    }
    case 'replay-status':
    case 'replay-stop': {
      const run = (await call(
        action === 'replay-stop' ? 'POST' : 'GET',
        `${base}/v1/operations/replay/${needId()}${action === 'replay-stop' ? '/stop' : ''}`,
        key,
      )) as Record<string, unknown>;
      print(run, () => JSON.stringify(run, null, 2));
      return;
    }
    case 'events': {
      const result = (await call('GET', `${base}/v1/events/subscribers`, key)) as {
        subscribers: {
          name: string;
          disabled?: { at: string; reason: string };
          waiting: number;
          deadLetters: number;
        }[];
      };
      print(
        result,
        () =>
          result.subscribers
            .map(
              (s) =>
                `${s.name.padEnd(20)} ${s.disabled ? `DISABLED since ${s.disabled.at} (${s.disabled.reason})` : 'enabled'}  waiting ${s.waiting}  dead letters ${s.deadLetters}`,
            )
            .join('\n') || 'no event subscribers configured',
      );
      return;
    }
    case 'events-replay': {
      const result = (await call(
        'POST',
        `${base}/v1/events/subscribers/${encodeURIComponent(needId())}/replay`,
        key,
      )) as {
        subscriber: string;
        requeued: number;
      };
      print(result, () => `${result.subscriber}: enabled, ${result.requeued} dead letters re-sent`);
      return;
    }
    default:
      throw new Error(OPS_USAGE);
  }
}
