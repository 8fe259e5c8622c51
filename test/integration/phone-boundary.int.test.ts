/**
 * Numbers are read once, at the API, with the region of the EHR they are for. Staged with the
 * default profile pinned to GB while the gateway's own region stays US: a US national number is
 * one this EHR cannot store, so it is a 400 before anything is queued, on every write that takes
 * a number; a GB national number is stored in E.164.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { projectRoot } from '../../src/project-root';
import { http, type JsonResponse } from '../support/http';
import { countKeys, TEST_REDIS_URL } from '../support/redis';
import { startTestGateway, type TestGateway } from '../support/test-gateway';

/** Valid in the US, not in GB: what a desk in the US would type for a London clinic's patient. */
const US_NATIONAL = '617-555-0100';
const GB_NATIONAL = '020 7946 0958';

let gw: TestGateway;
let mappings: string;
let redis: Redis;
let writes: Queue;
let patientId: string;

beforeAll(async () => {
  mappings = mkdtempSync(join(tmpdir(), 'continuum-mappings-'));
  cpSync(join(projectRoot(), 'mappings'), mappings, { recursive: true });
  const file = join(mappings, 'default', 'profile.yaml');
  const yaml = readFileSync(file, 'utf8');
  const pinned = yaml
    .replace('defaultRegion: US', 'defaultRegion: GB')
    .replace('pinRegion: false', 'pinRegion: true');
  expect(pinned).toContain('pinRegion: true');
  expect(pinned).toContain('defaultRegion: GB');
  writeFileSync(file, pinned);
  // Fixtures describe the EHR's records: these two hold numbers written the US way, which a GB EHR
  // does not store; its engineer would replace them (fixtures run at start).
  for (const fixture of ['language-and-email.json', 'odd-phones.json']) {
    rmSync(join(mappings, 'default', 'fixtures', 'read', fixture));
  }
  gw = await startTestGateway({ overrides: { mappings: { dir: mappings }, phone: { defaultRegion: 'US' } } });
  redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
  writes = new Queue('writes-sandbox', { connection: redis, prefix: `{${gw.prefix}}` });
  const bundle = await http('GET', `${gw.fhirBase}/Patient?_count=1`);
  patientId = bundle.body.entry[0].resource.id as string;
});
afterAll(async () => {
  await writes.close();
  redis.disconnect();
  await gw.stop();
  rmSync(mappings, { recursive: true, force: true });
});

async function queued(): Promise<{ operations: number; jobs: number }> {
  const counts = await writes.getJobCounts();
  return {
    operations: await countKeys(gw.prefix, ':op:*'),
    jobs: Object.values(counts).reduce((a, b) => a + b, 0),
  };
}

function expectRefusedNumber(res: JsonResponse, field: string): void {
  expect(res.status).toBe(400);
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({ status: 400, code: 'VALIDATION', retryable: false });
  expect(res.body.requestId).toBe(res.headers.get('x-request-id'));
  expect(res.body.errors).toEqual([{ field, message: 'is not a valid phone number' }]);
  // The request id is random hex and may hold any digits: look for the number everywhere else.
  const { requestId: _requestId, ...rest } = res.body as Record<string, unknown>;
  expect(JSON.stringify(rest)).not.toContain('555');
}

describe('a number the EHR connection cannot store', () => {
  it('is refused on a correction, a registration and a callback, and nothing is queued', async () => {
    const correction = await http('PATCH', `${gw.url}/v1/patients/${patientId}`, {
      body: { phones: [GB_NATIONAL, US_NATIONAL] },
      headers: { prefer: 'wait=5' },
    });
    expectRefusedNumber(correction, 'phones[1]');

    const form = `phones=${encodeURIComponent(US_NATIONAL)}`;
    const ivrCorrection = await http('POST', `${gw.url}/v1/patients/${patientId}/update`, {
      raw: form,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expectRefusedNumber(ivrCorrection, 'phones[0]');

    const registration = await http('POST', `${gw.url}/v1/patients`, {
      body: {
        name: { given: ['Ada'], family: 'Phoneless' },
        birthDate: '1990-04-01',
        phones: [US_NATIONAL],
      },
    });
    expectRefusedNumber(registration, 'phones[0]');

    const callback = await http('POST', `${gw.url}/v1/callbacks`, {
      body: { patientId, phone: US_NATIONAL, reason: 'results' },
    });
    expectRefusedNumber(callback, 'phone');

    expect(await queued()).toEqual({ operations: 0, jobs: 0 });
  });

  it('is refused by a lookup and an identity check too, read with the same region', async () => {
    expectRefusedNumber(
      await http('GET', `${gw.url}/v1/patients/lookup?phone=${encodeURIComponent(US_NATIONAL)}`),
      'phone',
    );
    expectRefusedNumber(
      await http('POST', `${gw.url}/v1/patients/verify`, {
        body: { birthDate: '1990-04-01', phone: US_NATIONAL },
      }),
      'phone',
    );
  });
});

describe("a number written the EHR's way", () => {
  it('is accepted without a country code and stored in E.164', async () => {
    const res = await http('PATCH', `${gw.url}/v1/patients/${patientId}`, {
      body: { phones: [GB_NATIONAL] },
      headers: { prefer: 'wait=10' },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ kind: 'patient.update', status: 'succeeded', attempts: 1 });
    // The probe that found nothing queued above does see a write that was queued.
    expect(await queued()).toMatchObject({ operations: 1 });

    const stored = (await http('GET', `${gw.fhirBase}/Patient/${patientId}`)).body;
    const phones = (stored.telecom as { system: string; value: string }[]).filter(
      (t) => t.system === 'phone',
    );
    expect(phones.map((t) => t.value)).toEqual(['+442079460958']);
    const model = (await http('GET', `${gw.url}/v1/patients/${patientId}`)).body;
    expect(model.phones).toEqual(['+442079460958']);
  });
});
