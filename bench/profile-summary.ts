/**
 * `node dist/bench/profile-summary.js <file.cpuprofile> [count]`: where a gateway process spent its
 * CPU during `npm run bench` with BENCH_CPU_PROF_DIR set. Prints the functions with the most self
 * time, and the share of samples whose stack passes through each function (inclusive). Async
 * functions resumed after an await start a new stack, so inclusive shares undercount them; read
 * the self times and the synchronous helpers (mapping, FHIR client, sealing) first.
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly children?: readonly number[];
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

function label(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const path = url.startsWith('file://') ? relative(process.cwd(), new URL(url).pathname) : url;
  const where = path.replace(/^.*node_modules\//, '');
  return `${functionName === '' ? '(anonymous)' : functionName} ${where}${where !== '' ? `:${lineNumber + 1}` : ''}`;
}

function top(times: Map<string, number>, total: number, count: number): string[] {
  return [...times]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([name, t]) => `  ${((100 * t) / total).toFixed(1).padStart(5)}%  ${name}`);
}

function main(): void {
  const file = process.argv[2];
  if (file === undefined) {
    console.error('usage: node dist/bench/profile-summary.js <file.cpuprofile> [count]');
    process.exit(2);
  }
  const count = Number(process.argv[3] ?? 30);
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);

  const perNode = new Map<number, number>();
  profile.samples.forEach((id, i) => perNode.set(id, (perNode.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let total = 0;
  for (const [id, time] of perNode) {
    const node = byId.get(id);
    if (!node) continue;
    total += time;
    self.set(label(node), (self.get(label(node)) ?? 0) + time);
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const at = byId.get(cur);
      if (!at) break;
      const name = label(at);
      if (!seen.has(name)) inclusive.set(name, (inclusive.get(name) ?? 0) + time);
      seen.add(name);
    }
  }
  console.log(`${file}: ${(total / 1e6).toFixed(1)} s sampled`);
  console.log('self time');
  console.log(top(self, total, count).join('\n'));
  console.log('inclusive (stack passes through)');
  console.log(top(inclusive, total, count).join('\n'));
}

main();
