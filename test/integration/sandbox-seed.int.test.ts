/**
 * The sandbox's demo data as a client sees it over HTTP: deterministic for a seed and a day, enough
 * patients, phones in every real-world format (some lines shared by families), four weeks of free slots,
 * booked appointments holding busy slots, and past encounters. Also measures start-up (seeding) time.
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';
import type { Appointment, Bundle, Patient, Resource, Slot } from '@medplum/fhirtypes';
import { createSandboxEhr, SANDBOX_SYSTEMS, type SandboxEhr } from '../../adapters/ehr/sandbox';

const TODAY = new Date('2026-03-02T15:00:00Z'); // a Monday, 10:00 in Boston
const DAY_MS = 86_400_000;

let first: SandboxEhr;
let twin: SandboxEhr;
let other: SandboxEhr;
let server: Server;
let origin: string;

beforeAll(async () => {
  // Seeding time is a benchmark's business (timed assertions fail on a loaded machine).
  first = await createSandboxEhr({ today: TODAY, seed: 7 });
  twin = await createSandboxEhr({ today: TODAY, seed: 7 });
  other = await createSandboxEhr({ today: TODAY, seed: 8 });
  const app = express();
  app.use('/first', first.router);
  app.use('/twin', twin.router);
  app.use('/other', other.router);
  server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  origin = `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await Promise.all([first.close(), twin.close(), other.close()]);
});

async function all<T extends Resource>(sandbox: string, type: string, query = ''): Promise<T[]> {
  const response = await fetch(`${origin}/${sandbox}/${type}?_count=1000${query}`);
  expect(response.status).toBe(200);
  const bundle = (await response.json()) as Bundle;
  expect(bundle.total).toBeLessThanOrEqual(1000);
  return (bundle.entry ?? []).map((e) => e.resource as T);
}

async function total(sandbox: string, type: string, query: string): Promise<number> {
  const response = await fetch(`${origin}/${sandbox}/${type}?_count=0&${query}`);
  return ((await response.json()) as Bundle).total ?? -1;
}

const phonesOf = (p: Patient): string[] =>
  (p.telecom ?? []).filter((t) => t.system === 'phone').map((t) => t.value ?? '');
const digitsOf = (text: string): string => text.replace(/\D/g, '').slice(-10);

/** One pattern per format family the sandbox writes (see PHONE_FORMATS). */
const PHONE_PATTERNS: Record<string, RegExp> = {
  digits: /^\d{10}$/,
  dashed: /^\d{3}-\d{3}-\d{4}$/,
  parenthesised: /^\(\d{3}\) \d{3}-\d{4}$/,
  dotted: /^\d{3}\.\d{3}\.\d{4}$/,
  e164: /^\+1\d{10}$/,
  internationalDashed: /^\+1 \d{3}-\d{3}-\d{4}$/,
  trunkDashed: /^1-\d{3}-\d{3}-\d{4}$/,
  spaced: /^\d{3} \d{3} \d{4}$/,
};

describe('seeding', () => {
  it('is deterministic: same seed and day give the same ids, names and phone texts', async () => {
    const [a, b, c] = await Promise.all([
      all<Patient>('first', 'Patient'),
      all<Patient>('twin', 'Patient'),
      all<Patient>('other', 'Patient'),
    ]);
    const summary = (patients: Patient[]): unknown[] =>
      patients.map((p) => [p.id, p.name, p.birthDate, p.identifier, p.telecom, p.address]);
    expect(summary(a)).toEqual(summary(b));
    expect(a.map((p) => p.meta)).toEqual(b.map((p) => p.meta));
    expect(a.map((p) => p.id)).toEqual(c.map((p) => p.id));
    expect(a.flatMap(phonesOf)).not.toEqual(c.flatMap(phonesOf));
    expect(await all('first', 'Appointment')).toEqual(await all('twin', 'Appointment'));
    expect(first.stats()).toEqual(twin.stats());
  });
});

describe('patients', () => {
  let patients: Patient[];
  beforeAll(async () => {
    patients = await all<Patient>('first', 'Patient');
  });

  it('has at least 200 with official names, birth dates, gender, home address and an MRN', () => {
    expect(patients.length).toBeGreaterThanOrEqual(200);
    expect(patients[0]!.id).toBe('pat-0001');
    const mrns = new Set<string>();
    for (const patient of patients) {
      const name = patient.name?.[0];
      expect(name?.use).toBe('official');
      expect(name?.family).toBeTruthy();
      expect(name?.given?.length).toBeGreaterThan(0);
      expect(patient.birthDate).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      expect(Date.parse(patient.birthDate!)).toBeLessThan(TODAY.getTime());
      expect(['male', 'female', 'other']).toContain(patient.gender);
      expect(patient.address?.[0]).toMatchObject({ use: 'home', state: 'MA', country: 'US' });
      const mrn = patient.identifier?.find((i) => i.system === SANDBOX_SYSTEMS.mrn);
      expect(mrn?.type?.coding?.[0]).toMatchObject({
        system: 'http://terminology.hl7.org/CodeSystem/v2-0203',
        code: 'MR',
      });
      expect(mrn?.value).toMatch(/^MRN\d{7}$/);
      mrns.add(mrn!.value!);
    }
    expect(mrns.size).toBe(patients.length);
  });

  it('writes phones in all eight real-world formats, fictional 555 numbers', () => {
    const texts = patients.flatMap(phonesOf);
    for (const text of texts) {
      expect(Object.values(PHONE_PATTERNS).some((pattern) => pattern.test(text))).toBe(true);
      expect(digitsOf(text).slice(3, 6)).toBe('555');
    }
    for (const [format, pattern] of Object.entries(PHONE_PATTERNS)) {
      expect([format, texts.filter((t) => pattern.test(t)).length]).toEqual([format, expect.any(Number)]);
      expect(texts.filter((t) => pattern.test(t)).length).toBeGreaterThan(10);
    }
  });

  it('has second phones, emails and preferred languages for part of the patients', () => {
    expect(patients.filter((p) => phonesOf(p).length > 1).length).toBeGreaterThan(20);
    expect(patients.filter((p) => p.telecom?.some((t) => t.system === 'email')).length).toBeGreaterThan(60);
    const languages = new Set(
      patients.flatMap((p) => p.communication ?? []).map((c) => c.language.coding?.[0]?.code),
    );
    expect([...languages]).toEqual(expect.arrayContaining(['es', 'vi', 'zh']));
  });

  it('has family households (about 10%) sharing one home line, sometimes written differently', () => {
    const owners = new Map<string, Set<string>>();
    for (const patient of patients) {
      for (const text of phonesOf(patient)) {
        owners.set(digitsOf(text), (owners.get(digitsOf(text)) ?? new Set()).add(patient.id!));
      }
    }
    const sharing = new Set([...owners.values()].filter((o) => o.size > 1).flatMap((o) => [...o]));
    expect(sharing.size).toBeGreaterThanOrEqual(Math.round(patients.length * 0.08));
    expect(sharing.size).toBeLessThanOrEqual(Math.round(patients.length * 0.15));
    const spelledDifferently = [...owners].some(([digits, o]) => {
      const texts = new Set(
        patients
          .filter((p) => o.has(p.id!))
          .flatMap(phonesOf)
          .filter((t) => digitsOf(t) === digits),
      );
      return o.size > 1 && texts.size > 1;
    });
    expect(spelledDifferently).toBe(true);
  });
});

describe('clinic and calendar', () => {
  it('has one organisation, four locations it manages, twelve practitioners with a schedule each', async () => {
    expect(first.stats()).toMatchObject({ Organization: 1, Location: 4, Practitioner: 12, Schedule: 12 });
    const locations = await all<any>('first', 'Location');
    locations.forEach((l) => expect(l.managingOrganization.reference).toBe('Organization/org-0001'));
    const schedules = await all<any>('first', 'Schedule');
    for (const schedule of schedules) {
      const refs = schedule.actor.map((a: any) => a.reference.split('/')[0]);
      expect(refs).toEqual(['Practitioner', 'Location']);
      expect(schedule.serviceType[0].coding[0].system).toBe(
        'http://terminology.hl7.org/CodeSystem/service-type',
      );
    }
  });

  it('publishes free weekday slots for each of the next four weeks, none before now or on weekends', async () => {
    for (let day = 0; day < 28; day++) {
      const date = new Date(TODAY.getTime() + day * DAY_MS).toISOString().slice(0, 10);
      const next = new Date(TODAY.getTime() + (day + 1) * DAY_MS).toISOString().slice(0, 10);
      const weekday = new Date(`${date}T12:00:00Z`).getUTCDay();
      const free = await total(
        'first',
        'Slot',
        `status=free&start=ge${date}T05:00:00Z&start=lt${next}T05:00:00Z`,
      );
      if (weekday === 0 || weekday === 6) {
        expect([date, free]).toEqual([date, 0]);
      } else {
        expect([date, free > 50]).toEqual([date, true]);
      }
    }
    expect(await total('first', 'Slot', `start=lt${TODAY.toISOString()}`)).toBe(0);
    expect(
      await total('first', 'Slot', `start=ge${new Date(TODAY.getTime() + 29 * DAY_MS).toISOString()}`),
    ).toBe(0);
    const slot = (
      await all<Slot>('first', 'Slot', '&schedule=Schedule/sch-0001&start=ge2026-03-10&start=lt2026-03-11')
    )[0]!;
    // 09:00 Boston time, after the switch to daylight saving time on 8 March.
    expect(slot.start).toBe('2026-03-10T09:00:00-04:00');
    expect(slot.end).toBe('2026-03-10T09:30:00-04:00');
  });

  it('books appointments on busy slots; cancelled ones leave their slot free', async () => {
    const appointments = await all<Appointment>('first', 'Appointment');
    const booked = appointments.filter((a) => a.status === 'booked');
    const cancelled = appointments.filter((a) => a.status === 'cancelled');
    expect(booked.length).toBeGreaterThan(100);
    expect(cancelled.length).toBeGreaterThan(10);
    const busy = new Set((await all<Slot>('first', 'Slot', '&status=busy')).map((s) => `Slot/${s.id!}`));
    expect(new Set(booked.map((a) => a.slot![0]!.reference))).toEqual(busy);
    for (const appointment of cancelled) {
      expect(busy.has(appointment.slot![0]!.reference!)).toBe(false);
      expect(appointment.cancelationReason).toBeDefined();
    }
    for (const appointment of booked.slice(0, 20)) {
      expect(appointment.participant.map((p) => p.actor?.reference?.split('/')[0])).toEqual([
        'Patient',
        'Practitioner',
        'Location',
      ]);
      expect(appointment.appointmentType?.coding?.[0]?.system).toBe(
        'http://terminology.hl7.org/CodeSystem/v2-0276',
      );
      expect(appointment.serviceType?.length).toBe(1);
      expect(Date.parse(appointment.start!)).toBeGreaterThanOrEqual(TODAY.getTime());
    }
  });

  it('has finished encounters in the past', async () => {
    const encounters = await all<any>('first', 'Encounter');
    expect(encounters.length).toBeGreaterThan(100);
    for (const encounter of encounters) {
      expect(encounter.status).toBe('finished');
      expect(encounter.class.code).toBe('AMB');
      expect(Date.parse(encounter.period.end)).toBeLessThan(TODAY.getTime());
    }
  });
});
