/**
 * The built gateway (`dist/`) as a child process, as `npm start` runs it. Output is kept for
 * assertions; the process is stopped by its own PID. Every child is remembered until it exits, so
 * a test file's afterEach/afterAll can stop what a failing test left running (`stopChildren`):
 * an open child keeps the runner waiting for ever.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readAdminKey, useCredential } from './credentials';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { projectRoot } from '../../src/project-root';
import { waitFor } from './wait-for';

export const CLI = join(projectRoot(), 'dist', 'src', 'cli', 'continuum.js');

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** The environment a user's shell would give: no REDIS_URL, so the embedded Redis is used. */
export function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, ...extra };
  return env;
}

export interface ChildGateway {
  readonly child: ChildProcess;
  readonly url: string;
  /** The admin key the gateway wrote on its first start (started gateways only). */
  readonly key?: string;
  output(): string;
  /** SIGTERM by PID, SIGKILL after the grace period; resolves with the exit code (null if killed). */
  stop(): Promise<number | null>;
  exited: Promise<number | null>;
}

/** A graceful stop drains queues and stops the embedded Redis; past this, the child is killed. */
const STOP_GRACE_MS = 20000;

const running = new Set<ChildGateway>();

/** Stops every child still running (by PID), e.g. after a test failed before its own clean-up. */
export async function stopChildren(): Promise<void> {
  await Promise.all([...running].map((run) => run.stop()));
}

async function stopChild(child: ChildProcess, exited: Promise<number | null>): Promise<number | null> {
  const alive = (): boolean => child.exitCode === null && child.signalCode === null;
  if (!alive() || child.pid === undefined) return exited;
  process.kill(child.pid, 'SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), STOP_GRACE_MS);
  });
  const first = await Promise.race([exited, late]);
  clearTimeout(timer);
  if (first !== 'late') return first;
  if (alive()) process.kill(child.pid, 'SIGKILL');
  return exited;
}

export function runCli(
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv },
): ChildGateway & { port?: number } {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: options.cwd,
    env: options.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString('utf8')));
  child.stderr.on('data', (d: Buffer) => (output += d.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const run = { child, url: '', output: () => output, exited, stop: () => stopChild(child, exited) };
  running.add(run);
  void exited.then(() => running.delete(run));
  return run;
}

export async function startChildGateway(options: {
  cwd: string;
  dataDir: string;
  port: number;
}): Promise<ChildGateway> {
  const run = runCli(['start'], {
    cwd: options.cwd,
    env: cleanEnv({ PORT: String(options.port), CONTINUUM_DATA_DIR: options.dataDir, LOG_LEVEL: 'info' }),
  });
  const url = `http://127.0.0.1:${options.port}`;
  try {
    await waitFor(
      async () => {
        if (run.child.exitCode !== null) throw new Error(`gateway exited early:\n${run.output()}`);
        const res = await fetch(`${url}/readyz`).catch(() => undefined);
        return res?.status === 200 ? true : undefined;
      },
      { timeoutMs: 60000, intervalMs: 200, what: 'the gateway to be ready' },
    );
  } catch (error) {
    await run.stop();
    throw error;
  }
  const key = readAdminKey(options.dataDir);
  useCredential(url, key);
  return { ...run, url, key };
}
