/**
 * The searches the gateway relies on, through HTTP against the seeded sandbox EHR, including the proof that
 * phone search matches the stored text exactly (as real EHRs do) and that paging links cover everything.
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';
import type { Bundle, Patient, Resource } from '@medplum/fhirtypes';
import { createSandboxEhr, SANDBOX_SYSTEMS, type SandboxEhr } from '../../adapters/ehr/sandbox';

const TODAY = new Date('2026-03-02T12:00:00Z');

let sandbox: SandboxEhr;
let server: Server;
let base: string;
let patients: Patient[];

beforeAll(async () => {
  sandbox = await createSandboxEhr({ today: TODAY });
  const app = express();
  app.use('/sandbox/fhir', sandbox.router);
  server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  base = `http://127.0.0.1:${String((server.address() as AddressInfo).port)}/sandbox/fhir`;
  patients = resources<Patient>(await search('Patient', { _count: '1000' }));
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await sandbox.close();
});

async function getJson(url: string): Promise<{ status: number; body: any }> {
  const response = await fetch(url, { headers: { accept: 'application/fhir+json' } });
  return { status: response.status, body: await response.json() };
}

/** GET search with properly encoded parameters (repeated names allowed). */
async function search(type: string, params: Record<string, string | string[]>): Promise<Bundle> {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    for (const one of Array.isArray(value) ? value : [value]) query.append(name, one);
  }
  const { status, body } = await getJson(`${base}/${type}?${query.toString()}`);
  expect(status).toBe(200);
  expect(body).toMatchObject({ resourceType: 'Bundle', type: 'searchset' });
  return body as Bundle;
}

function resources<T extends Resource>(bundle: Bundle, mode = 'match'): T[] {
  return (bundle.entry ?? []).filter((e) => (e.search?.mode ?? 'match') === mode).map((e) => e.resource as T);
}

function ids(bundle: Bundle): string[] {
  return resources(bundle).map((r) => r.id ?? '');
}

function phoneTexts(patient: Patient): string[] {
  return (patient.telecom ?? []).filter((t) => t.system === 'phone').map((t) => t.value ?? '');
}

const digitsOf = (text: string): string => text.replace(/\D/g, '').slice(-10);

function patientsWithPhoneText(texts: string[]): string[] {
  return patients.filter((p) => phoneTexts(p).some((t) => texts.includes(t))).map((p) => p.id ?? '');
}

describe('Patient?phone=', () => {
  it('matches the stored text exactly, with comma-separated alternatives', async () => {
    const texts = [
      phoneTexts(patients[3]!)[0]!,
      phoneTexts(patients[40]!)[0]!,
      phoneTexts(patients[150]!)[0]!,
    ];
    const bundle = await search('Patient', { phone: texts.join(','), _count: '100' });
    const expected = patientsWithPhoneText(texts);
    expect(expected.length).toBeGreaterThanOrEqual(3);
    expect(ids(bundle).sort()).toEqual(expected.sort());
    expect(bundle.total).toBe(expected.length);
  });

  it('does not match the same number written in another format', async () => {
    const allTexts = patients.flatMap(phoneTexts);
    const unique = allTexts.find(
      (t) => allTexts.filter((other) => digitsOf(other) === digitsOf(t)).length === 1,
    )!;
    const owner = patientsWithPhoneText([unique]);
    expect(owner).toHaveLength(1);
    expect((await search('Patient', { phone: unique })).total).toBe(1);

    const d = digitsOf(unique);
    const variants = [
      d,
      `${d.slice(0, 3)}-${d.slice(3, 6)}-${d.slice(6)}`,
      `(${d.slice(0, 3)}) ${d.slice(3, 6)}-${d.slice(6)}`,
      `+1${d}`,
    ].filter((variant) => variant !== unique);
    for (const variant of variants) {
      expect((await search('Patient', { phone: variant })).total).toBe(0);
    }
  });

  it('finds a shared family line only in the records that wrote it the same way', async () => {
    const byDigits = new Map<string, Set<string>>();
    for (const patient of patients) {
      for (const text of phoneTexts(patient)) {
        const owners = byDigits.get(digitsOf(text)) ?? new Set<string>();
        owners.add(patient.id!);
        byDigits.set(digitsOf(text), owners);
      }
    }
    const [sharedDigits, owners] = [...byDigits].find(([, o]) => o.size > 1)!;
    const spellings = [...new Set(patients.flatMap(phoneTexts).filter((t) => digitsOf(t) === sharedDigits))];
    const found = new Set<string>();
    for (const spelling of spellings) {
      const bundle = await search('Patient', { phone: spelling });
      expect(ids(bundle).sort()).toEqual(patientsWithPhoneText([spelling]).sort());
      ids(bundle).forEach((id) => found.add(id));
    }
    expect([...found].sort()).toEqual([...owners].sort());
    const all = await search('Patient', { phone: spellings.join(',') });
    expect(ids(all).sort()).toEqual([...owners].sort());
  });
});

describe('Patient by identifier, name, birth date, id', () => {
  const target = (): Patient => patients[17]!;

  it('Patient?identifier=system|value', async () => {
    const mrn = target().identifier!.find((i) => i.system === SANDBOX_SYSTEMS.mrn)!.value!;
    const bundle = await search('Patient', { identifier: `${SANDBOX_SYSTEMS.mrn}|${mrn}` });
    expect(ids(bundle)).toEqual([target().id]);
    expect((await search('Patient', { identifier: `http://other.example/mrn|${mrn}` })).total).toBe(0);
  });

  it('Patient?family=&birthdate=', async () => {
    const { family } = target().name![0]!;
    const bundle = await search('Patient', { family: family!, birthdate: target().birthDate! });
    expect(ids(bundle)).toContain(target().id);
    for (const patient of resources<Patient>(bundle)) {
      expect(patient.birthDate).toBe(target().birthDate);
      expect(patient.name![0]!.family!.toLowerCase().startsWith(family!.toLowerCase())).toBe(true);
    }
  });

  it('Patient?_id=', async () => {
    expect(ids(await search('Patient', { _id: target().id! }))).toEqual([target().id]);
    expect(ids(await search('Patient', { _id: 'pat-0001,pat-0002' })).sort()).toEqual([
      'pat-0001',
      'pat-0002',
    ]);
  });

  it('answers 400 for an unknown search parameter, like a real server', async () => {
    const { status, body } = await getJson(`${base}/Patient?favourite-colour=blue`);
    expect(status).toBe(400);
    expect(body.resourceType).toBe('OperationOutcome');
  });
});

describe('scheduling searches', () => {
  it('Appointment?patient=Patient/x&date=ge..&date=lt..&status=', async () => {
    const appointment = resources<any>(await search('Appointment', { status: 'booked', _count: '1' }))[0];
    const patientRef = appointment.participant.find((p: any) => p.actor.reference.startsWith('Patient/'))
      .actor.reference as string;
    const day = (appointment.start as string).slice(0, 10);
    const nextDay = new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
    const bundle = await search('Appointment', {
      patient: patientRef,
      date: [`ge${day}`, `lt${nextDay}`],
      status: 'booked',
    });
    expect(ids(bundle)).toContain(appointment.id);
    for (const found of resources<any>(bundle)) {
      expect(found.status).toBe('booked');
      expect(found.participant.map((p: any) => p.actor.reference)).toContain(patientRef);
    }
    const later = await search('Appointment', {
      patient: patientRef,
      date: `ge${nextDay}`,
      status: 'booked',
    });
    expect(ids(later)).not.toContain(appointment.id);
  });

  it('Slot?schedule=Schedule/x&start=ge..&start=lt..&status=free', async () => {
    const bundle = await search('Slot', {
      schedule: 'Schedule/sch-0001',
      start: ['ge2026-03-03T00:00:00-05:00', 'lt2026-03-04T00:00:00-05:00'],
      status: 'free',
      _count: '100',
    });
    const slots = resources<any>(bundle);
    expect(slots.length).toBeGreaterThan(5);
    expect(slots.length).toBeLessThanOrEqual(16);
    for (const slot of slots) {
      expect(slot.schedule.reference).toBe('Schedule/sch-0001');
      expect(slot.status).toBe('free');
      expect(slot.start.startsWith('2026-03-03T')).toBe(true);
    }
  });

  it('Schedule?actor=Practitioner/x', async () => {
    const bundle = await search('Schedule', { actor: 'Practitioner/pr-0003' });
    expect(ids(bundle)).toEqual(['sch-0003']);
  });

  it('Encounter?patient= (reference or bare id)', async () => {
    const encounter = resources<any>(await search('Encounter', { _count: '1' }))[0];
    const patientRef = encounter.subject.reference as string;
    const byRef = await search('Encounter', { patient: patientRef });
    expect(ids(byRef)).toContain(encounter.id);
    resources<any>(byRef).forEach((e) => expect(e.subject.reference).toBe(patientRef));
    const byId = await search('Encounter', { patient: patientRef.split('/')[1]! });
    expect(ids(byId).sort()).toEqual(ids(byRef).sort());
  });

  it('POST /Appointment/_search takes the parameters as a form', async () => {
    const response = await fetch(`${base}/Appointment/_search`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/fhir+json' },
      body: new URLSearchParams({ status: 'booked', _count: '5' }).toString(),
    });
    expect(response.status).toBe(200);
    const bundle = (await response.json()) as Bundle;
    expect(resources(bundle)).toHaveLength(5);
    expect(bundle.link?.find((l) => l.relation === 'next')?.url).toMatch(
      /^http:.*\/Appointment\?status=booked/,
    );
  });

  it('_include brings the referenced patient, practitioner and location', async () => {
    const bundle = await search('Appointment', {
      status: 'booked',
      _count: '2',
      _include: ['Appointment:patient', 'Appointment:practitioner', 'Appointment:location'],
    });
    const included = resources(bundle, 'include').map((r) => r.resourceType);
    expect(included).toEqual(expect.arrayContaining(['Patient', 'Practitioner', 'Location']));
  });
});

describe('paging', () => {
  it('_count=10 gives absolute next links that cover every patient exactly once', async () => {
    const seen: string[] = [];
    let url: string | undefined = `${base}/Patient?_count=10`;
    let pages = 0;
    let total = 0;
    while (url) {
      const { status, body } = await getJson(url);
      expect(status).toBe(200);
      const page = body as Bundle;
      total = page.total ?? -1;
      expect(page.entry!.length).toBeLessThanOrEqual(10);
      for (const entry of page.entry ?? []) {
        expect(entry.fullUrl).toBe(`${base}/Patient/${entry.resource!.id!}`);
        seen.push(entry.resource!.id!);
      }
      url = page.link?.find((l) => l.relation === 'next')?.url;
      if (url) expect(url.startsWith(`${base}/Patient?`)).toBe(true);
      pages++;
    }
    expect(total).toBe(sandbox.stats().Patient);
    expect(seen).toHaveLength(total);
    expect(new Set(seen).size).toBe(total);
    expect(pages).toBe(Math.ceil(total / 10));
  });

  it('keeps the search criteria in the next link and pages a filtered search', async () => {
    const first = await search('Slot', { status: 'free', schedule: 'Schedule/sch-0002', _count: '7' });
    const next = first.link!.find((l) => l.relation === 'next')!.url;
    expect(next).toContain('status=free');
    expect(next).toContain('schedule=Schedule/sch-0002');
    const second = (await getJson(next)).body as Bundle;
    expect(second.total).toBe(first.total);
    const overlap = ids(second).filter((id) => ids(first).includes(id));
    expect(overlap).toEqual([]);
    resources<any>(second).forEach((slot) => expect(slot.status).toBe('free'));
  });

  it('sorts by _sort (descending with a minus), before paging', async () => {
    const bundle = await search('Slot', { schedule: 'Schedule/sch-0004', _sort: '-start', _count: '5' });
    const starts = resources<any>(bundle).map((slot) => Date.parse(slot.start));
    expect(starts).toEqual([...starts].sort((a, b) => b - a));
    const all = resources<any>(await search('Slot', { schedule: 'Schedule/sch-0004', _count: '1000' }));
    expect(starts[0]).toBe(Math.max(...all.map((slot) => Date.parse(slot.start))));
  });

  it('defaults to pages of 20', async () => {
    const bundle = await search('Slot', {});
    expect(bundle.entry).toHaveLength(20);
    expect(bundle.link?.some((l) => l.relation === 'next')).toBe(true);
  });
});
