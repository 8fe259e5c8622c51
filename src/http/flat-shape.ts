/**
 * `?shape=flat` on reads: IVR flows (Amazon Connect, Genesys Architect, Twilio Studio) can only
 * use one level of string values, and Amazon Connect refuses a Lambda answer of 32 KB or more. So
 * a read's body becomes one object of strings whose JSON stays under that size.
 *
 * The contract is in design.md ("API v1"); the rules chosen within it:
 * - nested objects join their keys with `_`: `name_family`;
 * - list items are numbered from 1, the index glued to the list's key so IVR variables stay short
 *   (`slot1_start`, `phones2`), with `_` only where gluing would be ambiguous (a key ending in a
 *   digit, a list of lists): `line2_1`, `grid1_2`; every list also gets `<key>_count`;
 * - a root list is read as `{items: [...]}`, a root scalar as `{value: ...}`;
 * - booleans become "true"/"false", finite numbers their decimal string (String(n));
 * - null, undefined and anything JSON leaves out are omitted, list items too: an IVR loops from 1
 *   to `_count`, so items are renumbered without gaps and `_count` counts what is present;
 * - colliding keys never overwrite: generated keys (`truncated`, `<list>_count`, `<list>_total`)
 *   are claimed first, then data keys in document order; a key already taken gets the first free
 *   `_2`, `_3`, ... suffix;
 * - over the size limit, whole items are dropped from the end of lists that are not inside another
 *   list (the last such list first), so every record left is complete; `_count` then says what is
 *   present, `<list>_total` what existed, and `truncated: "true"` is set. Should that not be enough
 *   (a huge scalar), trailing data keys are dropped as a last resort;
 * - a read's own top-level `truncated: true` (a list the EHR did not give whole) sets that same
 *   generated `truncated`, rather than becoming `truncated_2`.
 */
import type { RequestHandler } from 'express';
import { validationError } from '../domain/errors';

/** Amazon Connect's limit; the body must stay strictly below it. */
export const FLAT_MAX_BYTES = 32 * 1024;

export interface FlattenOptions {
  /** The flattened body's JSON stays strictly below this many UTF-8 bytes. */
  readonly maxBytes?: number;
}

interface Entry {
  readonly wanted: string;
  readonly generated: boolean;
  value: string;
  name: string;
  present: boolean;
}

/** A list not inside another list: the only kind trimmed, item by item. */
interface TrimmableList {
  readonly count: Entry;
  readonly total: Entry;
  /** Per item, every entry its subtree produced. */
  readonly items: Entry[][];
}

export function flatten(value: unknown, options: FlattenOptions = {}): Record<string, string> {
  const maxBytes = options.maxBytes ?? FLAT_MAX_BYTES;
  const entries: Entry[] = [];
  const lists: TrimmableList[] = [];

  const emit = (wanted: string, text: string, generated: boolean, sink: Entry[] | undefined): Entry => {
    const entry: Entry = { wanted, generated, value: text, name: wanted, present: true };
    entries.push(entry);
    sink?.push(entry);
    return entry;
  };

  // `node` is already what JSON.stringify would see (see jsonValue).
  const visit = (node: unknown, key: string, sink: Entry[] | undefined): void => {
    if (Array.isArray(node)) {
      const present = node.map((item, i) => jsonValue(item, String(i))).filter((item) => item != null);
      const count = emit(`${key}_count`, String(present.length), true, sink);
      const items = present.map((item, i) => {
        const itemSink: Entry[] = [];
        visit(item, indexKey(key, i + 1), sink ?? itemSink);
        return itemSink;
      });
      if (sink === undefined) {
        const total = emit(`${key}_total`, String(present.length), true, undefined);
        total.present = false;
        lists.push({ count, total, items });
      }
    } else if (typeof node === 'object' && node !== null) {
      for (const [childKey, child] of Object.entries(node)) {
        visit(jsonValue(child, childKey), key === '' ? childKey : `${key}_${childKey}`, sink);
      }
    } else {
      const text = scalarText(node);
      if (text !== undefined) emit(key, text, false, sink);
    }
  };

  const truncated = emit('truncated', 'true', true, undefined);
  truncated.present = false;
  const root = jsonValue(value, '');
  visit(root, Array.isArray(root) ? 'items' : typeof root === 'object' ? '' : 'value', undefined);
  // A read's own `truncated: true` (the EHR's answer stopped early) says what the generated key
  // says: not everything is here. One key, so an IVR checks one variable.
  const said = entries.findIndex((e) => !e.generated && e.wanted === 'truncated' && e.value === 'true');
  if (said !== -1) {
    entries.splice(said, 1);
    truncated.present = true;
  }
  assignNames(entries);

  // Kept as a running total so trimming stays linear in the body's size.
  let bytes = 1 + entries.reduce((sum, e) => sum + (e.present ? entryBytes(e) : 0), 0);
  const fits = (): boolean => Math.max(bytes, 2) < maxBytes;
  const show = (entry: Entry, shown: boolean): void => {
    if (entry.present === shown) return;
    entry.present = shown;
    bytes += shown ? entryBytes(entry) : -entryBytes(entry);
  };
  const setText = (entry: Entry, text: string): void => {
    bytes -= entryBytes(entry);
    entry.value = text;
    bytes += entryBytes(entry);
  };

  for (let l = lists.length - 1; l >= 0 && !fits(); l--) {
    const list = lists[l];
    while (list !== undefined && !fits()) {
      const item = list.items.pop();
      if (item === undefined) break;
      for (const entry of item) show(entry, false);
      setText(list.count, String(list.items.length));
      show(list.total, true);
      show(truncated, true);
    }
  }
  for (let i = entries.length - 1; i >= 0 && !fits(); i--) {
    const entry = entries[i];
    if (entry !== undefined && !entry.generated && entry.present) {
      show(entry, false);
      show(truncated, true);
    }
  }

  return Object.fromEntries(entries.filter((e) => e.present).map((e) => [e.name, e.value]));
}

/** Express middleware: GET (and HEAD) with `?shape=flat` answer their JSON body flattened. */
export function flatShape(options: FlattenOptions = {}): RequestHandler {
  return (req, res, next) => {
    // Writes answer receipts that agents' tools and operators read whole; they are left alone.
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      next();
      return;
    }
    const { shape, ...routeQuery } = req.query;
    if (shape === undefined) {
      next();
      return;
    }
    if (shape !== 'flat') {
      next(validationError([{ field: 'shape', message: 'must be "flat" or left out' }]));
      return;
    }
    // `shape` is this middleware's parameter, not the route's: routes with strict query schemas
    // (GET /v1/operations) would refuse it. express 5 re-parses req.query on each read, hence an
    // own property.
    Object.defineProperty(req, 'query', { value: routeQuery, configurable: true, enumerable: true });
    const send = res.json.bind(res);
    res.json = (body: unknown) => {
      // Problems (and any other error) go out as they are: IVR flows branch on the status.
      const isProblem = res.statusCode >= 400 || /problem\+json/i.test(String(res.get('Content-Type')));
      return send(isProblem ? body : flatten(body, options));
    };
    next();
  };
}

/** What JSON.stringify would see: `toJSON()` applied (dates become strings). */
function jsonValue(value: unknown, key: string): unknown {
  if (typeof value === 'object' && value !== null) {
    const toJSON = (value as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === 'function') return (toJSON as (key: string) => unknown).call(value, key);
  }
  return value;
}

function scalarText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined; // JSON has no NaN or Infinity (it writes null), functions or symbols
}

/** `phones` + 2 -> `phones2`; `line2` + 1 -> `line2_1`, since `line21` could be item 21 of `line`. */
function indexKey(key: string, index: number): string {
  return /[0-9]$/.test(key) ? `${key}_${index}` : `${key}${index}`;
}

function assignNames(entries: readonly Entry[]): void {
  const taken = new Set<string>();
  const claim = (entry: Entry): void => {
    let name = entry.wanted;
    for (let n = 2; taken.has(name); n++) name = `${entry.wanted}_${n}`;
    taken.add(name);
    entry.name = name;
  };
  entries.filter((e) => e.generated).forEach(claim);
  entries.filter((e) => !e.generated).forEach(claim);
}

/** `"name":"value",` in UTF-8; the last entry's comma stands for the closing brace. */
function entryBytes(entry: Entry): number {
  return Buffer.byteLength(JSON.stringify(entry.name)) + Buffer.byteLength(JSON.stringify(entry.value)) + 2;
}
