/** Reads the Prometheus text exposition format into families and samples, for assertions. */

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface Exposition {
  /** Every `# TYPE` family. */
  readonly families: ReadonlySet<string>;
  readonly samples: readonly Sample[];
  /** The samples of one metric whose labels include `match`. */
  find(name: string, match?: Readonly<Record<string, string>>): readonly Sample[];
  /** The single value of one metric with these labels; undefined when absent. */
  value(name: string, match?: Readonly<Record<string, string>>): number | undefined;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

function unescape(value: string): string {
  return value.replace(/\\(["\\n])/g, (_m, c: string) => (c === 'n' ? '\n' : c));
}

export function parseExposition(text: string): Exposition {
  const families = new Set<string>();
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('# TYPE ')) {
      const name = line.split(' ')[2];
      if (name !== undefined) families.add(name);
      continue;
    }
    if (line.startsWith('#') || line.trim() === '') continue;
    const m = SAMPLE.exec(line);
    if (m === null) throw new Error(`not an exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(LABEL)) labels[l[1] ?? ''] = unescape(l[2] ?? '');
    samples.push({ name: m[1] ?? '', labels, value: Number(m[3]) });
  }
  const find = (name: string, match: Readonly<Record<string, string>> = {}): readonly Sample[] =>
    samples.filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v));
  return {
    families,
    samples,
    find,
    value: (name, match) => {
      const found = find(name, match);
      if (found.length > 1)
        throw new Error(`${found.length} samples of ${name} match ${JSON.stringify(match)}`);
      return found[0]?.value;
    },
  };
}

/** The names a PromQL expression reads that are Continuum's or the default collectors'. */
export function metricNamesIn(expr: string): string[] {
  return [...new Set(expr.match(/\b(?:continuum|process|nodejs)_[a-zA-Z0-9_]+\b/g) ?? [])];
}

/** The sample names a family of this type exposes (a histogram's `_bucket`, `_sum`, `_count`). */
export function sampleNames(family: string, type: string): string[] {
  if (type === 'histogram') return [`${family}_bucket`, `${family}_sum`, `${family}_count`];
  if (type === 'summary') return [family, `${family}_sum`, `${family}_count`];
  return [family];
}
