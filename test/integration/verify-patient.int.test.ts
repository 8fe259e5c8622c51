/**
 * POST /v1/patients/verify against the sandbox EHR: birth date plus family name, MRN or phone;
 * the same answer for every kind of mismatch; several matching patients never verify; failed
 * attempts are limited per caller; an EHR outage falls back on the continuity cache for a
 * candidate read before; and nothing the caller said reaches the logs.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { createRedisAttemptLimiter } from '../../adapters/redis/attempt-limiter';
import { createRedisClientRegistry } from '../../adapters/redis/client-registry';
import { createRecordCipher } from '../../adapters/redis/record-cipher';
import { createLogger } from '../../src/observability/logger';
import { http, type JsonResponse } from '../support/http';
import { setFaults } from '../support/pipeline';
import { TEST_REDIS_URL } from '../support/redis';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { waitFor } from '../support/wait-for';

let gw: TestGateway;
/** Every identifying value sent in a verification: none may appear in the logs. */
const sent = new Set<string>();
let callers = 0;

/** A fresh calling number per test, so failed attempts of one test never limit another. */
function newCallerId(): string {
  callers += 1;
  return `+1617555${String(1000 + callers).padStart(4, '0')}`;
}

interface SeedPatient {
  readonly id: string;
  readonly family: string;
  readonly birthDate: string;
  readonly mrn: string;
  /** As stored in the EHR. */
  readonly phone: string;
  /** Its ten national digits. */
  readonly digits: string;
}

let seeded: SeedPatient;

async function verify(
  body: Record<string, unknown>,
  options: { form?: boolean; headers?: Record<string, string> } = {},
): Promise<JsonResponse> {
  for (const key of ['birthDate', 'family', 'mrn', 'phone', 'callerId'] as const) {
    const value = body[key];
    if (typeof value === 'string' && value.length >= 4) sent.add(value);
  }
  if (options.form) {
    const form = new URLSearchParams(body as Record<string, string>).toString();
    return http('POST', `${gw.url}/v1/patients/verify`, {
      raw: form,
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...options.headers },
    });
  }
  return http('POST', `${gw.url}/v1/patients/verify`, { body, headers: options.headers });
}

/** Creates a patient straight in the sandbox EHR and returns its id. */
async function createInEhr(patient: {
  family: string;
  given: string;
  birthDate: string;
  phone?: string;
  mrn?: string;
}): Promise<string> {
  const created = await http('POST', `${gw.fhirBase}/Patient`, {
    body: {
      resourceType: 'Patient',
      ...(patient.mrn
        ? {
            identifier: [
              {
                type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'MR' }] },
                system: 'http://sandbox.continuum.example/mrn',
                value: patient.mrn,
              },
            ],
          }
        : {}),
      name: [{ use: 'official', family: patient.family, given: [patient.given] }],
      birthDate: patient.birthDate,
      ...(patient.phone ? { telecom: [{ system: 'phone', value: patient.phone, use: 'home' }] } : {}),
    },
    headers: { 'content-type': 'application/fhir+json' },
  });
  expect(created.status).toBe(201);
  return created.body.id as string;
}

/** The body without its timestamp: what must be identical across kinds of mismatch. */
function withoutAsOf(body: any): unknown {
  return { ...body, freshness: { ...body.freshness, asOf: typeof body.freshness?.asOf } };
}

beforeAll(async () => {
  gw = await startTestGateway({
    overrides: {
      sandbox: { enabled: true, patientCount: 220 },
      connections: { sandbox: { breaker: { failureThreshold: 3, probeIntervalMs: 400 } } },
    },
  });
  const patient = (await http('GET', `${gw.fhirBase}/Patient/pat-0001`)).body;
  const mrn = (patient.identifier as any[]).find((i) =>
    (i.type?.coding as any[] | undefined)?.some((c) => c.code === 'MR'),
  )?.value as string | undefined;
  const phone = (patient.telecom as any[] | undefined)?.find((t) => t.system === 'phone')?.value as
    string | undefined;
  if (mrn === undefined || phone === undefined) throw new Error('pat-0001 has no MRN or no phone');
  seeded = {
    id: 'pat-0001',
    family: patient.name[0].family as string,
    birthDate: patient.birthDate as string,
    mrn,
    phone,
    digits: phone.replace(/\D/g, '').replace(/^1(\d{10})$/, '$1'),
  };
});
afterEach(async () => {
  await setFaults(gw.url, { mode: 'up' });
});
afterAll(async () => {
  await gw.stop();
});

describe('a caller who is who they say', () => {
  it('is verified by birth date and family name, whatever its case and accents', async () => {
    const callerId = newCallerId();
    const vowel = /[aeiou]/.exec(seeded.family);
    const accented =
      vowel === null
        ? seeded.family
        : seeded.family.slice(0, vowel.index) +
          { a: 'á', e: 'é', i: 'í', o: 'ó', u: 'ú' }[vowel[0] as 'a'] +
          seeded.family.slice(vowel.index + 1);
    const plain = seeded.family.normalize('NFD').replace(/\p{M}/gu, '');
    const variants = [
      seeded.family,
      seeded.family.toUpperCase(),
      plain.toUpperCase(),
      ` ${accented.toLowerCase()} `,
    ];
    for (const family of variants) {
      const res = await verify({ birthDate: seeded.birthDate, family, callerId });
      expect({ family, status: res.status, body: res.body }).toEqual({
        family,
        status: 200,
        body: {
          verified: true,
          patientId: seeded.id,
          freshness: { source: 'ehr', asOf: expect.any(String) },
        },
      });
      expect(res.headers.get('cache-control')).toBe('no-store');
    }
  });

  it('matches compound family names across spaces, hyphens and accents', async () => {
    const id = await createInEhr({
      family: 'García-López',
      given: 'Verifytest',
      birthDate: '1931-05-17',
    });
    sent.add('García-López').add('1931-05-17');
    const callerId = newCallerId();
    for (const family of ['garcia lopez', 'GARCIA-LOPEZ', 'García López', 'garcíalópez']) {
      const res = await verify({ birthDate: '1931-05-17', family, callerId });
      expect({ family, body: res.body }).toMatchObject({ family, body: { verified: true, patientId: id } });
    }
    const other = await verify({ birthDate: '1931-05-17', family: 'Garcia', callerId });
    expect(other.body.verified).toBe(false);
  });

  it('is verified by birth date and MRN', async () => {
    const res = await verify({ birthDate: seeded.birthDate, mrn: seeded.mrn, callerId: newCallerId() });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ verified: true, patientId: seeded.id });
  });

  it('is verified by birth date and phone, written another way than the EHR stores it', async () => {
    const d = seeded.digits;
    const written = `(${d.slice(0, 3)}) ${d.slice(3, 6)}.${d.slice(6)}`;
    expect(written).not.toBe(seeded.phone);
    const res = await verify({ birthDate: seeded.birthDate, phone: written, callerId: newCallerId() });
    expect(res.body).toMatchObject({ verified: true, patientId: seeded.id });
  });

  it('needs every factor given to match the same patient', async () => {
    const callerId = newCallerId();
    const all = await verify({
      birthDate: seeded.birthDate,
      family: seeded.family,
      mrn: seeded.mrn,
      phone: seeded.digits,
      callerId,
    });
    expect(all.body).toMatchObject({ verified: true, patientId: seeded.id });
    const wrongPhone = await verify({
      birthDate: seeded.birthDate,
      family: seeded.family,
      phone: '617-555-0100',
      callerId,
    });
    expect(wrongPhone.body.verified).toBe(false);
  });

  it('takes a form body, with the birth date as keypad digits (MMDDYYYY)', async () => {
    const [year, month, day] = seeded.birthDate.split('-') as [string, string, string];
    const res = await verify(
      { birthDate: `${month}${day}${year}`, mrn: seeded.mrn, callerId: newCallerId() },
      { form: true },
    );
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ verified: true, patientId: seeded.id });
  });

  it('verifies against the candidate the agent already has, when it names one', async () => {
    const callerId = newCallerId();
    const res = await verify({
      birthDate: seeded.birthDate,
      family: seeded.family,
      patientId: seeded.id,
      callerId,
    });
    expect(res.body).toMatchObject({ verified: true, patientId: seeded.id, freshness: { source: 'ehr' } });
    const otherCandidate = await verify({
      birthDate: seeded.birthDate,
      family: seeded.family,
      patientId: 'pat-0002',
      callerId,
    });
    expect(otherCandidate.body).toEqual({ verified: false, freshness: expect.any(Object) });
    const unknown = await verify({
      birthDate: seeded.birthDate,
      family: seeded.family,
      patientId: 'nobody-1',
      callerId,
    });
    expect(unknown.body).toEqual({ verified: false, freshness: expect.any(Object) });
  });
});

describe('a caller who is not', () => {
  it('gets the same answer whichever field is wrong', async () => {
    const callerId = newCallerId();
    const wrong = await Promise.all([
      verify({ birthDate: '1950-01-02', family: seeded.family, callerId }),
      verify({ birthDate: seeded.birthDate, family: 'Nobodyname', callerId }),
      verify({ birthDate: seeded.birthDate, mrn: 'NO-SUCH-MRN-1', callerId }),
      verify({ birthDate: '1950-01-02', mrn: seeded.mrn, callerId }),
      verify({ birthDate: seeded.birthDate, phone: '+1 617 555 0100', callerId }),
    ]);
    for (const res of wrong) {
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      expect(res.body).toEqual({ verified: false, freshness: { source: 'ehr', asOf: expect.any(String) } });
      expect(withoutAsOf(res.body)).toEqual(withoutAsOf(wrong[0].body));
    }
  });

  it('is never verified as one of two patients who share a family line and a birth date', async () => {
    const phone = '617-555-0142';
    const first = await createInEhr({ family: 'Twinsbury', given: 'Ada', birthDate: '2012-03-04', phone });
    const second = await createInEhr({
      family: 'Twinsbury',
      given: 'Ida',
      birthDate: '2012-03-04',
      phone: '+16175550142',
    });
    sent.add('Twinsbury').add('2012-03-04');
    const callerId = newCallerId();
    const byPhone = await verify({ birthDate: '2012-03-04', phone: '6175550142', callerId });
    expect(byPhone.body).toEqual({ verified: false, freshness: expect.any(Object) });
    const byName = await verify({ birthDate: '2012-03-04', family: 'twinsbury', callerId });
    expect(byName.body).toEqual({ verified: false, freshness: expect.any(Object) });
    // With the candidate on the agent's screen, there is only one to check.
    const named = await verify({ birthDate: '2012-03-04', phone: '6175550142', patientId: second, callerId });
    expect(named.body).toMatchObject({ verified: true, patientId: second });
    expect(first).not.toBe(second);
  });
});

describe('input', () => {
  it.each([
    [{ family: 'Smith' }, ['birthDate']],
    [{ birthDate: '1980-02-30', family: 'Smith' }, ['birthDate']],
    [{ birthDate: '02/03/1980', family: 'Smith' }, ['birthDate']],
    [{ birthDate: '2999-01-01', family: 'Smith' }, ['birthDate']],
    [{ birthDate: '1980-02-29' }, ['family']],
    [{ birthDate: '1980-02-29', family: '', mrn: '', phone: '' }, ['family']],
    [{ birthDate: '1980-02-29', phone: '555-01' }, ['phone']],
    [{ birthDate: '1980-02-29', family: '--' }, ['family']],
    [{ birthDate: '1980-02-29', family: ['Smith'] }, ['family']],
    [{ birthDate: '1980-02-29', family: 'Smith', patientId: 'a/b' }, ['patientId']],
    [{ birthDate: '1980-02-29', family: 'Smith', dob: '1980-02-29' }, ['dob']],
  ])('refuses %j naming %j, without echoing values', async (body, fields) => {
    const res = await verify(body, { headers: { 'x-contact-id': 'input-tests' } });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(res.body.code).toBe('VALIDATION');
    expect((res.body.errors as { field: string }[]).map((e) => e.field)).toEqual(fields);
    const text = JSON.stringify(res.body);
    for (const value of Object.values(body).flat()) {
      if (typeof value === 'string' && value.length > 2) expect(text).not.toContain(value);
    }
  });

  it('refuses a body that is neither JSON nor a form', async () => {
    const res = await http('POST', `${gw.url}/v1/patients/verify`, {
      raw: 'birthDate 1980-02-29',
      headers: { 'content-type': 'text/plain' },
    });
    expect(res.status).toBe(415);
  });
});

describe('failed attempts', () => {
  it('refuses the sixth failure from one caller with 429 and Retry-After; other callers go on', async () => {
    const callerId = newCallerId();
    for (let attempt = 1; attempt <= 5; attempt++) {
      const res = await verify({ birthDate: seeded.birthDate, family: `Wrong${attempt}`, callerId });
      expect({ attempt, status: res.status, verified: res.body.verified }).toEqual({
        attempt,
        status: 200,
        verified: false,
      });
    }
    const refused = await verify({ birthDate: seeded.birthDate, family: 'Wrong6', callerId });
    expect(refused.status).toBe(429);
    expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(refused.body).toMatchObject({ code: 'TOO_MANY_ATTEMPTS', status: 429, retryable: true });
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(15 * 60);
    // Even the right answer waits now, written another way or not.
    const right = await verify({
      birthDate: seeded.birthDate,
      family: seeded.family,
      callerId: callerId.replace('+1', '').replace(/^(\d{3})(\d{3})/, '($1) $2-'),
    });
    expect(right.status).toBe(429);

    const other = await verify({
      birthDate: seeded.birthDate,
      family: seeded.family,
      callerId: newCallerId(),
    });
    expect(other.body).toMatchObject({ verified: true, patientId: seeded.id });
  });

  it("never lets one client's wrong guesses, sent with a real caller's number, lock out another client", async () => {
    // The patient's own number, used as callerId by a client guessing birth dates.
    const callerId = newCallerId();
    const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 2 });
    const registry = createRedisClientRegistry({
      redis,
      prefix: `{${gw.prefix}}`,
      logger: createLogger({ level: 'silent' }),
    });
    const { key: guesser } = await registry
      .create({ name: 'guessing-ivr', tenant: 'default', scopes: ['patients:read'] })
      .finally(async () => {
        await registry.close();
        redis.disconnect();
      });
    const asGuesser = { authorization: `Bearer ${guesser}` };
    for (let attempt = 1; attempt <= 5; attempt++) {
      const res = await verify(
        { birthDate: '1901-01-01', family: seeded.family, callerId },
        { headers: asGuesser },
      );
      expect(res.body.verified).toBe(false);
    }
    expect(
      (await verify({ birthDate: seeded.birthDate, family: seeded.family, callerId }, { headers: asGuesser }))
        .status,
    ).toBe(429);
    // The agent desk (another client) verifying the real caller on that number is not held back.
    const desk = await verify({ birthDate: seeded.birthDate, family: seeded.family, callerId });
    expect(desk.status).toBe(200);
    expect(desk.body).toMatchObject({ verified: true, patientId: seeded.id });
  });

  it('counts failures only: successes and unanswered attempts are given back', async () => {
    const callerId = newCallerId();
    for (let i = 0; i < 4; i++) {
      expect((await verify({ birthDate: seeded.birthDate, family: 'Wrong', callerId })).body.verified).toBe(
        false,
      );
    }
    for (let i = 0; i < 3; i++) {
      expect((await verify({ birthDate: seeded.birthDate, mrn: seeded.mrn, callerId })).body.verified).toBe(
        true,
      );
    }
    const invalid = await verify({ birthDate: 'yesterday', family: 'Wrong', callerId });
    expect(invalid.status).toBe(400);
    const fifth = await verify({ birthDate: seeded.birthDate, family: 'Wrong', callerId });
    expect(fifth.status).toBe(200);
    expect(fifth.body.verified).toBe(false);
    expect((await verify({ birthDate: seeded.birthDate, mrn: seeded.mrn, callerId })).status).toBe(429);
  });

  it('counts per call id when there is no calling number, and keeps no number in clear', async () => {
    const headers = { 'x-contact-id': 'call-verify-limit-1' };
    for (let i = 0; i < 5; i++) {
      expect((await verify({ birthDate: seeded.birthDate, family: 'Wrong' }, { headers })).status).toBe(200);
    }
    expect((await verify({ birthDate: seeded.birthDate, family: 'Wrong' }, { headers })).status).toBe(429);
    const otherCall = await verify(
      { birthDate: seeded.birthDate, family: seeded.family },
      { headers: { 'x-call-id': 'call-verify-limit-2' } },
    );
    expect(otherCall.body.verified).toBe(true);

    const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 2 });
    try {
      const keys = await redis.keys(`{${gw.prefix}}:verify-attempts:*`);
      expect(keys.length).toBeGreaterThan(0);
      for (const key of keys) {
        // The test's own random prefix may hold digits; only the caller part must not.
        const callerPart = key.slice(`{${gw.prefix}}:verify-attempts:`.length);
        expect(callerPart).not.toMatch(/\d{7}/);
        expect(callerPart).not.toContain('call-verify');
        expect(await redis.pttl(key)).toBeGreaterThan(0);
      }
    } finally {
      redis.disconnect();
    }
  });
});

describe('the Redis attempt limiter', () => {
  it('refuses past the limit until the window ends, and never gives back more than it took', async () => {
    const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 2 });
    try {
      const limiter = createRedisAttemptLimiter({
        redis,
        prefix: `{${gw.prefix}}`,
        cipher: createRecordCipher(randomBytes(32)),
        maxFailedAttempts: 2,
        windowMs: 400,
      });
      await limiter.release('ani:+16175550123');
      expect(await limiter.reserve('ani:+16175550123')).toEqual({ allowed: true });
      expect(await limiter.reserve('ani:+16175550123')).toEqual({ allowed: true });
      expect(await limiter.reserve('ani:+16175550123')).toEqual({ allowed: false, retryAfterSeconds: 1 });
      expect(await limiter.reserve('ani:+16175550124')).toEqual({ allowed: true });
      await limiter.release('ani:+16175550123');
      expect(await limiter.reserve('ani:+16175550123')).toEqual({ allowed: true });
      expect((await limiter.reserve('ani:+16175550123')).allowed).toBe(false);
      await waitFor(async () => ((await limiter.reserve('ani:+16175550123')).allowed ? true : undefined), {
        timeoutMs: 5000,
        intervalMs: 100,
        what: 'the window to end',
      });
    } finally {
      redis.disconnect();
    }
  });
});

describe('while the EHR is down', () => {
  it('verifies a candidate read before from the continuity cache, and says so', async () => {
    const read = await http('GET', `${gw.url}/v1/patients/${seeded.id}`);
    expect(read.body.freshness.source).toBe('ehr');
    await setFaults(gw.url, { mode: 'down', kind: 'refuse' });
    const callerId = newCallerId();

    const verified = await verify({
      birthDate: seeded.birthDate,
      family: seeded.family,
      patientId: seeded.id,
      callerId,
    });
    expect(verified.status).toBe(200);
    expect(verified.body).toEqual({
      verified: true,
      patientId: seeded.id,
      freshness: { source: 'cache', asOf: read.body.freshness.asOf },
    });
    const wrong = await verify({
      birthDate: '1950-01-02',
      family: seeded.family,
      patientId: seeded.id,
      callerId,
    });
    expect(wrong.body).toEqual({
      verified: false,
      freshness: { source: 'cache', asOf: read.body.freshness.asOf },
    });

    // Nothing to check against: the outage is the answer, and it costs the caller no attempt.
    for (let i = 0; i < 6; i++) {
      const res = await verify({ birthDate: seeded.birthDate, family: seeded.family, callerId });
      expect(res.status).toBe(503);
      expect(res.body.code).toBe('EHR_UNAVAILABLE');
    }
    const neverRead = await verify({
      birthDate: seeded.birthDate,
      family: seeded.family,
      patientId: 'pat-0219',
      callerId,
    });
    expect(neverRead.status).toBe(503);
  });

  it('logs outcomes and patient ids, never what the caller said', () => {
    const logs = gw.logs.text();
    expect(logs).toContain('identity verification');
    expect(logs).toContain(seeded.id);
    sent.add(seeded.family).add(seeded.birthDate).add(seeded.mrn).add(seeded.phone).add(seeded.digits);
    for (const value of sent) {
      expect({ value, found: logs.includes(value) }).toEqual({ value, found: false });
    }
  });
});
