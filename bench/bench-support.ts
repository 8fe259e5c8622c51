/**
 * Processes and load loops for benchmarks: a private redis-server with AOF, the sandbox EHR and
 * the gateway as their own processes (stopped by PID), a bounded closed-loop load generator, a
 * keep-alive HTTP client that costs the load generator little CPU and presents the gateway's
 * credential on every request sent to it, per-process CPU accounting from
 * /proc, Redis INFO fields and the sandbox's fault switch.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Ports a run may listen on, inclusive; `BENCH_PORTS=19500-19599` keeps a shared machine's runs apart. */
export interface PortRange {
  readonly first: number;
  readonly last: number;
}

/** `first-last` from the environment, or undefined (then the kernel picks free ports). */
export function parsePortRange(raw: string | undefined): PortRange | undefined {
  if (raw === undefined || raw === '') return undefined;
  const match = /^(\d+)-(\d+)$/.exec(raw);
  const first = Number(match?.[1]);
  const last = Number(match?.[2]);
  if (!match || first < 1024 || last > 65535 || first > last) {
    throw new Error(`BENCH_PORTS must look like 19500-19599, got ${raw}`);
  }
  return { first, last };
}

function listenOnce(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => {
      resolve(undefined);
    });
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      const bound = typeof address === 'object' && address ? address.port : undefined;
      server.close(() => {
        resolve(bound);
      });
    });
  });
}

/**
 * A port free right now: any (the kernel's pick) or one of `range`, tried from a random start so
 * that processes started in a row rarely race for the same one.
 */
export async function freePort(range?: PortRange): Promise<number> {
  if (range === undefined) {
    const port = await listenOnce(0);
    if (port === undefined) throw new Error('no free port');
    return port;
  }
  const size = range.last - range.first + 1;
  const start = Math.floor(Math.random() * size);
  for (let k = 0; k < size; k++) {
    const port = await listenOnce(range.first + ((start + k) % size));
    if (port !== undefined) return port;
  }
  throw new Error(`no free port in ${range.first}-${range.last}`);
}

export interface Proc {
  readonly child: ChildProcess;
  stop(): Promise<void>;
}

export function startProcess(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Proc {
  const child = spawn(command, args, { env, stdio: ['ignore', 'ignore', 'inherit'] });
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      resolve();
    });
  });
  return {
    child,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
      const pid = child.pid;
      process.kill(pid, 'SIGTERM');
      // Bounded: a process that ignores SIGTERM for 30 s is killed (by its own PID only).
      const force = setTimeout(() => {
        if (child.exitCode === null && child.signalCode === null) process.kill(pid, 'SIGKILL');
      }, 30000);
      await exited;
      clearTimeout(force);
    },
  };
}

export async function waitForHttp(url: string, timeoutMs = 60000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await fetch(url).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not come up`);
}

export async function startRedisWithAof(ports?: PortRange): Promise<Proc & { url: string }> {
  const port = await freePort(ports);
  const dir = mkdtempSync(join(tmpdir(), 'continuum-bench-redis-'));
  const proc = startProcess('redis-server', [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--save',
    '',
    '--appendonly',
    'yes',
    '--appendfsync',
    'everysec',
    '--maxmemory-policy',
    'noeviction',
  ]);
  const { Redis } = await import('ioredis');
  const deadline = Date.now() + 10000;
  for (;;) {
    const client = new Redis({ port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    client.on('error', () => undefined);
    const up = await client.connect().then(
      () => true,
      () => false,
    );
    client.disconnect();
    if (up) break;
    if (Date.now() > deadline) throw new Error('redis-server did not start');
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    ...proc,
    url: `redis://127.0.0.1:${port}`,
    stop: async () => {
      await proc.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface LoadResult {
  readonly requests: number;
  readonly errors: number;
  readonly seconds: number;
  readonly perSecond: number;
  readonly p50: number;
  readonly p99: number;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

/** `total` requests from `concurrency` closed loops; `request(i)` returns whether it succeeded. */
export async function runLoad(
  concurrency: number,
  total: number,
  request: (i: number) => Promise<boolean>,
): Promise<LoadResult> {
  const latencies: number[] = [];
  let next = 0;
  let errors = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (;;) {
        const i = next++;
        if (i >= total) return;
        const t0 = process.hrtime.bigint();
        const ok = await request(i).catch(() => false);
        latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
        if (!ok) errors++;
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  latencies.sort((a, b) => a - b);
  return {
    requests: total,
    errors,
    seconds,
    perSecond: total / seconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
  };
}

export function fmt(n: number, digits = 2): string {
  return Number.isFinite(n) ? n.toFixed(digits) : 'n/a';
}

/** Runs `request(i)` for i = 0..total-1 with `concurrency` in flight; latencies are not kept. */
export async function runCount(
  concurrency: number,
  total: number,
  request: (i: number) => Promise<void>,
): Promise<number> {
  let next = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: Math.min(concurrency, total) }, async () => {
      for (;;) {
        const i = next++;
        if (i >= total) return;
        await request(i);
      }
    }),
  );
  return Number(process.hrtime.bigint() - started) / 1e9;
}

export interface HttpAnswer {
  readonly status: number;
  readonly body: string;
}

export interface HttpClient {
  request(
    method: string,
    url: string,
    body?: string,
    headers?: Readonly<Record<string, string>>,
  ): Promise<HttpAnswer>;
  json<T>(method: string, url: string, body?: unknown): Promise<T>;
  close(): void;
}

export interface HttpClientOptions {
  readonly timeoutMs?: number;
  /**
   * The `Authorization` value to present, by origin (`http://127.0.0.1:8080`): the gateway wants a
   * credential on every route but its probes, and gets it on every request sent to it. Other
   * origins (the standalone sandbox, the bare endpoint) get none.
   */
  readonly credentials?: Readonly<Record<string, string>>;
}

/**
 * node:http with a keep-alive pool of `maxSockets`: about half the CPU per request of `fetch`,
 * which matters when the load generator shares two cores with what it measures.
 */
export function createHttpClient(maxSockets: number, options: HttpClientOptions = {}): HttpClient {
  const timeoutMs = options.timeoutMs ?? 30000;
  const agent = new Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
  // A prefix test per request: cheaper for the load generator than parsing every URL.
  const credentials = Object.entries(options.credentials ?? {}).map(([origin, authorization]) => ({
    prefix: `${new URL(origin).origin}/`,
    authorization,
  }));
  const credentialHeader = (url: string): Record<string, string> => {
    const match = credentials.find((c) => url.startsWith(c.prefix));
    return match === undefined ? {} : { authorization: match.authorization };
  };
  const send = (
    method: string,
    url: string,
    body?: string,
    headers: Readonly<Record<string, string>> = {},
  ): Promise<HttpAnswer> =>
    new Promise((resolve, reject) => {
      const req = httpRequest(
        url,
        {
          method,
          agent,
          timeout: timeoutMs,
          headers:
            body === undefined
              ? { ...credentialHeader(url), ...headers }
              : {
                  ...credentialHeader(url),
                  'content-type': 'application/json',
                  'content-length': Buffer.byteLength(body),
                  ...headers,
                },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => {
            resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
          });
          res.on('error', reject);
        },
      );
      req.on('timeout', () => {
        req.destroy(new Error(`${method} ${url}: no answer in ${timeoutMs} ms`));
      });
      req.on('error', reject);
      req.end(body);
    });
  return {
    request: send,
    async json<T>(method: string, url: string, body?: unknown): Promise<T> {
      const answer = await send(method, url, body === undefined ? undefined : JSON.stringify(body));
      if (answer.status < 200 || answer.status > 299) {
        throw new Error(`${method} ${url}: HTTP ${answer.status} ${answer.body.slice(0, 200)}`);
      }
      return JSON.parse(answer.body) as T;
    },
    close: () => {
      agent.destroy();
    },
  };
}

/** Polls `check` every `intervalMs` until it returns a value, or throws at the deadline. */
export async function pollUntil<T>(
  what: string,
  check: () => Promise<T | undefined>,
  deadlineMs: number,
  intervalMs = 250,
): Promise<T> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not done within ${Math.round(deadlineMs / 1000)} s`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** CPU seconds (user + system) a process has used, from /proc (Linux); undefined elsewhere. */
export function processCpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  if (pid === process.pid) {
    const usage = process.cpuUsage();
    return (usage.user + usage.system) / 1e6;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces): state is [0], utime [11], stime [12].
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return Number.isFinite(ticks) ? ticks / 100 : undefined; // USER_HZ is 100 on Linux
  } catch {
    return undefined;
  }
}

export type CpuUse = Readonly<Record<string, number | undefined>>;

/** Starts counting CPU seconds per named process; `stop()` gives each one's use since then. */
export function cpuMeter(pids: Readonly<Record<string, number | undefined>>): { stop(): CpuUse } {
  const start = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, processCpuSeconds(pid)]));
  return {
    stop: () =>
      Object.fromEntries(
        Object.entries(pids).map(([name, pid]) => {
          const before = start[name];
          const after = processCpuSeconds(pid);
          return [name, before === undefined || after === undefined ? undefined : after - before];
        }),
      ),
  };
}

/** `name 123 µs` per unit of work for each process, e.g. CPU per accepted write. */
export function formatCpu(use: CpuUse, units: number): string {
  const parts = Object.entries(use).map(([name, seconds]) =>
    seconds === undefined ? `${name} n/a` : `${name} ${fmt((seconds * 1e6) / units, 0)} µs`,
  );
  const total = Object.values(use).reduce<number>((sum, s) => sum + (s ?? 0), 0);
  return `${parts.join(', ')} (all ${fmt((total * 1e6) / units, 0)} µs)`;
}

/** Numeric fields of Redis `INFO <section>`. */
export function parseRedisInfo(info: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of info.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0 || line.startsWith('#')) continue;
    const value = Number(line.slice(colon + 1));
    if (Number.isFinite(value)) out[line.slice(0, colon)] = value;
  }
  return out;
}

/** The sandbox's fault switch (adapters/ehr/sandbox/README.md). */
export async function setSandboxFaults(
  http: HttpClient,
  sandboxOrigin: string,
  mode: Readonly<Record<string, unknown>>,
): Promise<void> {
  await http.json('POST', `${sandboxOrigin}/sandbox/admin/faults`, mode);
}

/** FHIR requests the sandbox has seen since its fault mode was last set (its `counters.seen`). */
export async function sandboxRequestsSeen(http: HttpClient, sandboxOrigin: string): Promise<number> {
  const state = await http.json<{ counters: { seen: number } }>(
    'GET',
    `${sandboxOrigin}/sandbox/admin/faults`,
  );
  return state.counters.seen;
}

export interface GoalRow {
  readonly measure: string;
  readonly result: string;
  readonly goal: string;
  /** undefined: reported for diagnosis, no goal applies. */
  readonly met: boolean | undefined;
}

export function formatGoals(rows: readonly GoalRow[]): string {
  const cells = rows.map((r) => [
    r.measure,
    r.result,
    r.goal,
    r.met === undefined ? '-' : r.met ? 'pass' : 'MISS',
  ]);
  const header = ['measure', 'result', 'goal', 'verdict'];
  const widths = header.map((h, c) => Math.max(h.length, ...cells.map((row) => (row[c] ?? '').length)));
  const line = (row: readonly string[]): string =>
    `| ${row.map((cell, c) => cell.padEnd(widths[c] ?? 0)).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...cells.map(line)].join('\n');
}
