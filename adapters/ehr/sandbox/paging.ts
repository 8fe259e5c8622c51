import type { BundleLink } from '@medplum/fhirtypes';

/** Search parameters as the client sent them, in order, repeated names kept (`date=ge..&date=lt..`). */
export type QueryParams = ReadonlyArray<readonly [string, string]>;

export interface PageWindow {
  readonly count: number;
  readonly offset: number;
  readonly total: number;
}

/**
 * `self`, `first`, `previous` and `next` links for a searchset page. They are absolute and keep the
 * client's own parameters (not the engine's normalised form), only `_count`/`_offset` change, so following
 * `next` repeats exactly the search that was asked for. POST `_search` pages come back as GET links, which is
 * what Medplum and HAPI do too.
 */
export function pageLinks(searchBase: string, params: QueryParams, page: PageWindow): BundleLink[] {
  const link = (relation: string, offset: number): BundleLink => ({
    relation,
    url: pageUrl(searchBase, params, page.count, offset),
  });
  const links = [link('self', page.offset), link('first', 0)];
  if (page.offset > 0 && page.count > 0) {
    links.push(link('previous', Math.max(0, page.offset - page.count)));
  }
  if (page.count > 0 && page.offset + page.count < page.total) {
    links.push(link('next', page.offset + page.count));
  }
  return links;
}

export function pageUrl(searchBase: string, params: QueryParams, count: number, offset: number): string {
  const kept = params.filter(([name]) => name !== '_count' && name !== '_offset');
  const all: QueryParams = [...kept, ['_count', String(count)], ['_offset', String(offset)]];
  return `${searchBase}?${all.map(([name, value]) => `${encodePart(name)}=${encodePart(value)}`).join('&')}`;
}

/** Percent-encodes, but leaves the characters FHIR queries are full of (`:`, `|`, `,`, `/`) readable. */
function encodePart(text: string): string {
  return encodeURIComponent(text).replace(/%3A|%7C|%2C|%2F/gi, (escaped) => decodeURIComponent(escaped));
}
