/**
 * The fault suite runs the built CLI (`dist/`) as child processes: build it first, as `npm test`'s
 * `pretest` does. The build is incremental, so an up-to-date `dist/` costs a few seconds.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

export default function buildOnce(): void {
  const root = join(__dirname, '..', '..');
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const result = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], {
    cwd: root,
    encoding: 'utf8',
    timeout: 300000,
  });
  if (result.status !== 0) {
    throw new Error(`the build failed (tsc -p tsconfig.build.json):\n${result.stdout}${result.stderr}`);
  }
}
