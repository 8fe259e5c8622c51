/**
 * The layering of design.md, enforced: the domain imports nothing of ours, use cases never touch
 * express/bullmq/ioredis/fhir-kit-client nor the adapters, and only src/main.ts wires everything.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { projectRoot } from '../../src/project-root';

const ROOT = projectRoot();

function files(dir: string): string[] {
  return readdirSync(join(ROOT, dir)).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(join(ROOT, path)).isDirectory()) return files(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

function imports(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  return [...text.matchAll(/^\s*(?:import|export)\s[^;]*?from\s+'([^']+)'/gm)].map((m) => m[1]!);
}

/** Our own imports, as paths relative to the project root. */
function ownImports(file: string): string[] {
  return imports(file)
    .filter((spec) => spec.startsWith('.'))
    .map((spec) => relative(ROOT, resolve(ROOT, dirname(file), spec)));
}

const FRAMEWORKS = ['express', 'bullmq', 'ioredis', 'fhir-kit-client'];

describe('import direction', () => {
  it('src/domain imports nothing of ours outside the domain', () => {
    for (const file of files('src/domain')) {
      for (const target of ownImports(file))
        expect({ file, target, ok: target.startsWith('src/domain') }).toMatchObject({ ok: true });
    }
  });

  it('use cases and the mapping engine use no framework and no adapter, queue or HTTP code', () => {
    for (const file of [...files('src/use-cases'), ...files('src/mapping')]) {
      for (const spec of imports(file))
        expect({ file, spec, framework: FRAMEWORKS.includes(spec) }).toMatchObject({ framework: false });
      for (const target of ownImports(file)) {
        const ok = !/^(adapters|queue|src\/http|src\/main|src\/cli)/.test(target);
        expect({ file, target, ok }).toMatchObject({ ok: true });
      }
    }
  });

  it('the HTTP edge reaches the outside world only through use cases', () => {
    for (const file of files('src/http')) {
      for (const target of ownImports(file)) {
        const ok = !/^(adapters|queue|src\/main)/.test(target);
        expect({ file, target, ok }).toMatchObject({ ok: true });
      }
    }
  });

  it('adapters and queue code depend on the domain, not on use cases or HTTP', () => {
    for (const file of [...files('adapters'), ...files('queue')]) {
      for (const target of ownImports(file)) {
        const ok = !/^(src\/http|src\/main|src\/cli)/.test(target);
        expect({ file, target, ok }).toMatchObject({ ok: true });
      }
    }
  });
});
