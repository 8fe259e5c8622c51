/**
 * The built gateway (`dist/`) as a child process, as `npm start` runs it. Output is kept for
 * assertions; the process is stopped by its own PID.
 */
import { spawn, type ChildProcess } from 'node:child_process';
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
  output(): string;
  /** SIGTERM by PID; resolves with the exit code. */
  stop(): Promise<number | null>;
  exited: Promise<number | null>;
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
  return {
    child,
    url: '',
    output: () => output,
    exited,
    stop: async () => {
      if (child.exitCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGTERM');
      return exited;
    },
  };
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
  await waitFor(
    async () => {
      if (run.child.exitCode !== null) throw new Error(`gateway exited early:\n${run.output()}`);
      const res = await fetch(`${url}/readyz`).catch(() => undefined);
      return res?.status === 200 ? true : undefined;
    },
    { timeoutMs: 60000, intervalMs: 200, what: 'the gateway to be ready' },
  );
  return { ...run, url };
}
