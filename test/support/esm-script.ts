/**
 * Runs an ES module script in a Node process of its own, `input` on its stdin, and returns what
 * it printed: for libraries shipped only as ES modules, which jest cannot load on this Node.
 */
import { execFileSync } from 'node:child_process';
import { projectRoot } from '../../src/project-root';

export function runEsmScript(script: string, input: string): string {
  return execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: projectRoot(),
    input,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
}
