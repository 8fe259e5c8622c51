/**
 * A mistyped option on the built CLI (`npm run build` first) answers with what is wrong and the
 * usage, exit code 2, never a stack trace.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, cleanEnv } from '../support/child-gateway';

jest.setTimeout(60000);

let workdir: string;

beforeAll(() => {
  workdir = mkdtempSync(join(tmpdir(), 'continuum-usage-'));
});

afterAll(() => {
  rmSync(workdir, { recursive: true, force: true });
});

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { cwd: workdir, env: cleanEnv({}) },
      (error, stdout, stderr) => {
        resolve({ code: error === null ? 0 : ((error as { code?: number }).code ?? null), stdout, stderr });
      },
    );
  });
}

describe('continuum with an option it does not know', () => {
  it.each([
    [['start', '--rol', 'api'], "Unknown option '--rol'", 'continuum start'],
    [['mappings', 'test', '--profiel', 'acme'], "Unknown option '--profiel'", 'continuum mappings test'],
    [['sandbox', '--bogus'], "Unknown option '--bogus'", 'continuum sandbox'],
    [['ops', 'status', '--jsn'], "Unknown option '--jsn'", 'continuum ops status'],
    [['clients', 'list', '--jsn'], "Unknown option '--jsn'", 'continuum clients create --name NAME'],
    [['audit', 'verify', '--jsno'], "Unknown option '--jsno'", 'continuum audit export [--since'],
    [
      ['ehr-keys', 'rotate', '--overlpa', '1h'],
      "Unknown option '--overlpa'",
      'continuum ehr-keys rotate [--alg',
    ],
    [['audit', 'check'], 'unknown action: audit check', 'continuum audit verify [--json]'],
  ])('%j prints the problem and the usage, exit 2', async (args, problem, usage) => {
    const { code, stdout, stderr } = await run(args);
    expect(code).toBe(2);
    expect(stderr.startsWith(`continuum: ${problem}`)).toBe(true);
    expect(stderr).toContain('Usage:');
    expect(stderr).toContain(usage);
    expect(stderr).not.toContain('(see continuum');
    expect(stderr).not.toMatch(/^\s+at /m);
    expect(stderr).not.toContain('TypeError');
    expect(stdout).toBe('');
  });
});
