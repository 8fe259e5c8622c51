/**
 * Where two JSON values differ, one line per difference (`name.given[1]: expected "A", got "B"`), for
 * fixture reports an integration engineer reads in a terminal.
 */
export function jsonDiff(expected: unknown, actual: unknown, path = ''): string[] {
  if (Array.isArray(expected) && Array.isArray(actual)) {
    const length = Math.max(expected.length, actual.length);
    return Array.from({ length }, (_unused, index) =>
      jsonDiff(expected[index], actual[index], `${path}[${index}]`),
    ).flat();
  }
  if (isRecord(expected) && isRecord(actual)) {
    const keys = [...new Set([...Object.keys(expected), ...Object.keys(actual)])];
    return keys.flatMap((key) => jsonDiff(expected[key], actual[key], path === '' ? key : `${path}.${key}`));
  }
  if (JSON.stringify(expected) === JSON.stringify(actual)) return [];
  return [`${path === '' ? '(root)' : path}: expected ${show(expected)}, got ${show(actual)}`];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function show(value: unknown): string {
  return value === undefined ? 'nothing' : JSON.stringify(value);
}

/** The JSON a value serialises to: undefined members gone, as an API response would show it. */
export function asJson(value: unknown): unknown {
  return value === undefined ? undefined : JSON.parse(JSON.stringify(value));
}
