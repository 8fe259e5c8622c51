/**
 * `continuum config check` runs the profile checks start runs: a profile whose fixtures fail, or a
 * connection naming a profile folder that does not exist, is not "valid".
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { projectRoot } from '../../src/project-root';
import { CLI, cleanEnv } from '../support/child-gateway';

const run = promisify(execFile);

let work: string;
beforeEach(() => {
  work = mkdtempSync(join(tmpdir(), 'continuum-config-check-'));
});
afterEach(() => {
  rmSync(work, { recursive: true, force: true });
});

async function configCheck(profile: string): Promise<{ code: number; stdout: string; stderr: string }> {
  await writeFile(
    join(work, 'continuum.config.yaml'),
    `mappings:\n  dir: ./mappings\nsandbox:\n  enabled: true\nconnections:\n  sandbox:\n    mappingProfile: ${profile}\n`,
  );
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, 'config', 'check'], {
      cwd: work,
      env: cleanEnv({ CONTINUUM_DATA_DIR: join(work, 'data') }),
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

it('refuses a profile whose fixtures fail, naming the fixture, and says valid once they pass', async () => {
  await cp(join(projectRoot(), 'mappings', 'default'), join(work, 'mappings', 'acme'), { recursive: true });
  const fixture = join(work, 'mappings', 'acme', 'fixtures', 'read', 'plain.json');
  const original = await readFile(fixture, 'utf8');
  const json = JSON.parse(original) as { expected: { gender?: string } };
  json.expected.gender = json.expected.gender === 'female' ? 'male' : 'female';
  await writeFile(fixture, JSON.stringify(json));

  const broken = await configCheck('acme');
  expect(broken.code).toBe(2);
  expect(broken.stdout).not.toContain('Configuration is valid');
  expect(broken.stderr).toContain(join('acme', 'fixtures', 'read', 'plain.json'));

  await writeFile(fixture, original);
  const fixed = await configCheck('acme');
  expect(fixed.code).toBe(0);
  expect(fixed.stdout).toContain('Configuration is valid');
  expect(fixed.stdout).toMatch(/Mapping profiles: acme \([0-9a-f]{12}\)/);
});

it('refuses a connection naming a profile folder that does not exist under the mappings dir', async () => {
  const missing = await configCheck('nowhere');
  expect(missing.code).toBe(2);
  expect(missing.stdout).not.toContain('Configuration is valid');
  expect(missing.stderr).toContain(join(work, 'mappings', 'nowhere'));
});
