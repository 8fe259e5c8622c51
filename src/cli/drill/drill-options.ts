/**
 * The options of `continuum drill run`. Anything unknown or malformed is a DrillUsageError, which
 * the command prints with the usage, never as a stack trace.
 */
import { parseArgs } from 'node:util';
import { SCENARIOS, type ScenarioName } from './scenarios';

export const DRILL_USAGE = `Usage:
  continuum drill run --scenario outage|surge|closure|credentials [--duration 5m]
                      [--url URL] [--key KEY] [--rate CALLS_PER_SECOND] [--out DIR] [--compress FACTOR]

Rehearses a crisis against a gateway and writes drill-<date>.json and drill-<date>.html.
  --scenario   outage: baseline, EHR down, recovery and drain
               surge: baseline, 3x calls, 5x calls with the EHR at capacity, recovery
               closure: baseline, a site closure (dry run, then real), recovery
               credentials: baseline, the gateway's EHR credentials revoked, restored
  --duration   length of the timeline (30s, 5m, 1h; default 5m)
  --compress   run the timeline FACTOR times faster than --duration (default 1)
  --url        a staging gateway to drive; absent: one started here on its embedded defaults
  --key        that gateway's API key (or CONTINUUM_API_KEY); sandbox:admin is needed to stage faults
  --rate       synthetic calls per second at baseline (default 10)
  --out        directory for the report (default: the working directory)`;

export class DrillUsageError extends Error {}

export interface DrillOptions {
  readonly scenario: ScenarioName;
  /** The timeline's nominal length. */
  readonly durationMs: number;
  /** The real time the timeline takes: `durationMs / compress`. */
  readonly wallMs: number;
  readonly compress: number;
  readonly url: string | undefined;
  readonly key: string | undefined;
  readonly rate: number;
  readonly outDir: string;
}

const MIN_WALL_MS = 5_000;
const MAX_DURATION_MS = 24 * 3_600_000;
const MAX_RATE = 1_000;

/** `30s`, `5m`, `1h`, `1500ms`, or bare seconds. */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (match?.[1] === undefined) return undefined;
  const value = Number(match[1]);
  const unit = match[2] ?? 's';
  const factor = unit === 'ms' ? 1 : unit === 's' ? 1_000 : unit === 'm' ? 60_000 : 3_600_000;
  const ms = Math.round(value * factor);
  return ms > 0 ? ms : undefined;
}

function positiveNumber(name: string, text: string | undefined, fallback: number, max: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0 || value > max) {
    throw new DrillUsageError(`--${name} must be a number above 0 and at most ${max}`);
  }
  return value;
}

export function parseDrillOptions(
  args: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  cwd: string,
): DrillOptions {
  let parsed: ReturnType<typeof parseDrill>;
  try {
    parsed = parseDrill(args);
  } catch (error) {
    throw new DrillUsageError(error instanceof Error ? error.message : String(error));
  }
  const { values, positionals } = parsed;
  if (positionals.length > 0) throw new DrillUsageError(`unexpected argument: ${positionals.join(' ')}`);
  const scenario = values.scenario;
  if (scenario === undefined) throw new DrillUsageError('--scenario is required');
  if (!(SCENARIOS as readonly string[]).includes(scenario)) {
    throw new DrillUsageError(`--scenario must be one of ${SCENARIOS.join(', ')}`);
  }
  const durationMs = parseDuration(values.duration ?? '5m');
  if (durationMs === undefined || durationMs > MAX_DURATION_MS) {
    throw new DrillUsageError('--duration must be a length such as 30s, 5m or 1h (at most 24h)');
  }
  const compress = positiveNumber('compress', values.compress, 1, 10_000);
  const wallMs = Math.round(durationMs / compress);
  if (wallMs < MIN_WALL_MS) {
    throw new DrillUsageError(`--duration divided by --compress must leave at least ${MIN_WALL_MS / 1000}s`);
  }
  let url: string | undefined;
  if (values.url !== undefined) {
    try {
      const parsedUrl = new URL(values.url);
      if (parsedUrl.protocol !== 'http:' && parsedUrl.protocol !== 'https:') throw new Error('protocol');
      url = parsedUrl.origin + parsedUrl.pathname.replace(/\/+$/, '');
    } catch {
      throw new DrillUsageError('--url must be an http(s) URL such as https://staging.example.org');
    }
  }
  const key = values.key ?? env.CONTINUUM_API_KEY;
  if (url !== undefined && (key === undefined || key.trim() === '')) {
    throw new DrillUsageError('--url needs an API key: --key KEY or CONTINUUM_API_KEY');
  }
  return {
    scenario: scenario as ScenarioName,
    durationMs,
    wallMs,
    compress,
    url,
    key: key?.trim(),
    rate: positiveNumber('rate', values.rate, 10, MAX_RATE),
    outDir: values.out ?? cwd,
  };
}

function parseDrill(args: readonly string[]) {
  return parseArgs({
    args: [...args],
    strict: true,
    allowPositionals: true,
    options: {
      scenario: { type: 'string' },
      duration: { type: 'string' },
      url: { type: 'string' },
      key: { type: 'string' },
      rate: { type: 'string' },
      out: { type: 'string' },
      compress: { type: 'string' },
    },
  });
}
