/**
 * zod writes the bounds of a safe integer on every `int()`: they say nothing a reader needs and
 * make generated clients and the rendered reference noisier. Dropped from a converted schema.
 */
export function tidySchema<T>(value: T): T {
  if (Array.isArray(value)) return value.map(tidySchema) as T;
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) {
    if (key === 'minimum' && child === Number.MIN_SAFE_INTEGER) continue;
    if (key === 'maximum' && child === Number.MAX_SAFE_INTEGER) continue;
    out[key] = tidySchema(child);
  }
  return out as T;
}
