import type { CountryCode } from '../../phone';

/**
 * A schema builder remembered per phone region. Each EHR connection reads numbers with its own
 * region, so routes pick the schema per request; building a zod schema costs far more than a
 * lookup, and there are only as many regions as connections.
 */
export function byRegion<S>(build: (region: CountryCode) => S): (region: CountryCode) => S {
  const built = new Map<CountryCode, S>();
  return (region) => {
    const known = built.get(region);
    if (known !== undefined) return known;
    const schema = build(region);
    built.set(region, schema);
    return schema;
  };
}
