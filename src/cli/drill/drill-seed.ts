/**
 * The callers and free slots the synthetic load uses, read at the start through the gateway's
 * sandbox FHIR API with the drill's credential. Held in memory only: the report never sees them.
 */
import { field, stringField, type DrillHttp } from './drill-http';

export interface SeedPatient {
  readonly id: string;
  readonly family: string | undefined;
  readonly birthDate: string | undefined;
  readonly phone: string | undefined;
}

export interface DrillSeed {
  readonly patients: readonly SeedPatient[];
  readonly slotIds: readonly string[];
}

export class DrillSeedError extends Error {}

const PAGE = 100;
const MAX_PATIENTS = 400;
const MAX_SLOTS = 1_000;

function entries(body: unknown): Record<string, unknown>[] {
  const list = field(body, 'entry');
  if (!Array.isArray(list)) return [];
  return list
    .map((e) => field(e, 'resource'))
    .filter((r): r is Record<string, unknown> => typeof r === 'object' && r !== null);
}

function patientOf(resource: Record<string, unknown>): SeedPatient | undefined {
  const id = stringField(resource, 'id');
  if (id === undefined) return undefined;
  const names = field(resource, 'name');
  const telecom = field(resource, 'telecom');
  const phone = Array.isArray(telecom)
    ? telecom.map((t) => (field(t, 'system') === 'phone' ? stringField(t, 'value') : undefined)).find(Boolean)
    : undefined;
  return {
    id,
    family: Array.isArray(names) ? stringField(names[0], 'family') : undefined,
    birthDate: stringField(resource, 'birthDate'),
    phone,
  };
}

export async function readDrillSeed(http: DrillHttp, now: Date): Promise<DrillSeed> {
  const patients: SeedPatient[] = [];
  for (let offset = 0; offset < MAX_PATIENTS; offset += PAGE) {
    const res = await http.request('GET', `/sandbox/fhir/Patient?_count=${PAGE}&_offset=${offset}`);
    if (res.status !== 200) {
      throw new DrillSeedError(
        res.status === 403 || res.status === 401
          ? `the key may not read the sandbox's FHIR API (HTTP ${res.status}); the drill needs sandbox:admin`
          : res.status === 404
            ? 'this gateway serves no sandbox EHR at /sandbox/fhir: the drill needs its seed patients'
            : `reading the sandbox's patients failed (HTTP ${res.status})`,
      );
    }
    const page = entries(res.body)
      .map(patientOf)
      .filter((p): p is SeedPatient => p !== undefined);
    patients.push(...page);
    if (page.length < PAGE) break;
  }
  // Free slots from tomorrow on: a booking made in the drill never races the clock.
  const from = new Date(now.getTime() + 86_400_000).toISOString().slice(0, 10);
  const slots = await http.request(
    'GET',
    `/sandbox/fhir/Slot?status=free&start=ge${from}&_count=${MAX_SLOTS}`,
  );
  const slotIds = entries(slots.body)
    .map((r) => stringField(r, 'id'))
    .filter((id): id is string => id !== undefined);
  if (patients.length === 0) throw new DrillSeedError('the sandbox has no patients to call about');
  return { patients, slotIds };
}
