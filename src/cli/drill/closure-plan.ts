/**
 * Which site the closure drill closes: the sandbox location holding the most booked visits over
 * the next days, as one dry run over every location counts them. Closing an empty site would prove
 * nothing; closing every site would leave the load nothing to book.
 */
import { field, stringField, type DrillHttp } from './drill-http';

export interface ClosurePlan {
  readonly location: string;
  readonly from: Date;
  readonly to: Date;
  /** Visits the planning dry run counted there. */
  readonly planned: number;
}

const WINDOW_DAYS = 3;
/** The window starts a little ahead, so no visit starts while the drill is changing it. */
const LEAD_MS = 60 * 60_000;

export async function planClosure(
  http: DrillHttp,
  now: Date,
): Promise<{ readonly plan: ClosurePlan } | { readonly note: string }> {
  const list = await http.request('GET', '/sandbox/fhir/Location?_count=100');
  if (list.status !== 200) return { note: `the sandbox's locations could not be read (HTTP ${list.status})` };
  const entries = field(list.body, 'entry');
  const locations = (Array.isArray(entries) ? entries : [])
    .map((e) => stringField(e, 'resource', 'id'))
    .filter((id): id is string => id !== undefined);
  if (locations.length === 0) return { note: 'the sandbox has no locations to close' };
  const from = new Date(Math.ceil((now.getTime() + LEAD_MS) / 3_600_000) * 3_600_000);
  const to = new Date(from.getTime() + WINDOW_DAYS * 86_400_000);
  const dry = await http.request('POST', '/v1/crisis/closures', {
    body: {
      locations,
      from: from.toISOString(),
      to: to.toISOString(),
      action: 'convert-to-virtual',
      reason: 'weather',
      callback: { priority: 'urgent' },
      dryRun: true,
    },
  });
  if (dry.status !== 200) return { note: `the planning dry run was refused (HTTP ${dry.status})` };
  const byLocation = field(dry.body, 'byLocation');
  let best: { location: string; count: number } | undefined;
  for (const entry of Array.isArray(byLocation) ? byLocation : []) {
    const location = stringField(entry, 'location');
    const count = field(entry, 'count');
    if (location === undefined || typeof count !== 'number') continue;
    if (best === undefined || count > best.count) best = { location, count };
  }
  if (best === undefined || best.count === 0) {
    return { note: `no booked visits at any location between ${from.toISOString()} and ${to.toISOString()}` };
  }
  return { plan: { location: best.location, from, to, planned: best.count } };
}
