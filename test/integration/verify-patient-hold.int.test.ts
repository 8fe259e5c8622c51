/**
 * The per-patient hold on phone self-verification: a brute force of birth dates against one
 * patient across rotating callers is cut off after `verify.patientHold.maxFailedAttempts`
 * evaluated guesses, never finds the right date, and call-center subscribers hear
 * `patient.verification-held`; wrong guesses sent with a patient's own number never keep an agent
 * desk (a client with `patients:write`) from verifying the patient on its screen.
 */
import { createServer, type Server } from 'node:http';
import { Redis } from 'ioredis';
import { createRedisClientRegistry } from '../../adapters/redis/client-registry';
import type { Scope } from '../../src/domain/access';
import { createLogger } from '../../src/observability/logger';
import { http, type JsonResponse } from '../support/http';
import { TEST_REDIS_URL } from '../support/redis';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { waitFor } from '../support/wait-for';

const SECRET = `whsec_${Buffer.from('verification-hold-events').toString('base64')}`;
const MAX_PATIENT_FAILURES = 10;

interface Received {
  readonly type: string;
  readonly data: Record<string, unknown>;
  readonly raw: string;
}

let gw: TestGateway;
let subscriber: Server;
const received: Received[] = [];
/** An IVR: it looks callers up and verifies them, and may not correct records. */
let ivr: Record<string, string>;
/** An agent desk: it may correct records, so a staffed desk. */
let desk: Record<string, string>;

interface Seeded {
  readonly id: string;
  readonly family: string;
  readonly birthDate: string;
  readonly phone: string;
}

async function seeded(id: string): Promise<Seeded> {
  const patient = (await http('GET', `${gw.fhirBase}/Patient/${id}`)).body;
  const phone = (patient.telecom as { system: string; value: string }[]).find((t) => t.system === 'phone');
  if (phone === undefined) throw new Error(`${id} has no phone`);
  return { id, family: patient.name[0].family, birthDate: patient.birthDate, phone: phone.value };
}

/** Birth dates `count` days around the right one, the right one among them at `rightAt`. */
function guesses(right: string, count: number, rightAt: number): string[] {
  const day = Date.parse(`${right}T00:00:00Z`);
  return Array.from({ length: count }, (_, i) =>
    new Date(day + (i - rightAt) * 86_400_000).toISOString().slice(0, 10),
  );
}

function verify(body: Record<string, unknown>, as: Record<string, string>): Promise<JsonResponse> {
  return http('POST', `${gw.url}/v1/patients/verify`, { body, headers: as });
}

const heldEvents = (patientId: string) =>
  received.filter((e) => e.type === 'patient.verification-held' && e.data.patientId === patientId);

async function clientKey(name: string, scopes: Scope[]): Promise<Record<string, string>> {
  const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 2 });
  const registry = createRedisClientRegistry({
    redis,
    prefix: `{${gw.prefix}}`,
    logger: createLogger({ level: 'silent' }),
  });
  try {
    const { key } = await registry.create({ name, tenant: 'default', scopes });
    return { authorization: `Bearer ${key}` };
  } finally {
    await registry.close();
    redis.disconnect();
  }
}

beforeAll(async () => {
  subscriber = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const body = JSON.parse(raw) as { type: string; data: Record<string, unknown> };
      received.push({ type: body.type, data: body.data, raw });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => subscriber.listen(0, '127.0.0.1', resolve));
  const address = subscriber.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/events`;
  gw = await startTestGateway({
    overrides: {
      sandbox: { enabled: true, patientCount: 220 },
      verify: {
        maxFailedAttempts: 5,
        windowMinutes: 15,
        patientHold: { maxFailedAttempts: MAX_PATIENT_FAILURES, windowSeconds: 900, holdSeconds: 600 },
      },
      events: { subscribers: [{ kind: 'webhook', name: 'desk', url, secret: SECRET }] },
    },
  });
  ivr = await clientKey('self-service-ivr', ['patients:read', 'calls:write']);
  desk = await clientKey('agent-desk', ['patients:read', 'patients:write', 'appointments:write']);
});
afterAll(async () => {
  await gw.stop();
  await new Promise((resolve) => subscriber.close(resolve));
});

it('cuts a brute force of birth dates across 200 rotating callers off after the limit, and tells the desks', async () => {
  const target = await seeded('pat-0002');
  // The right date is the 501st guess: a brute force that ran on would find it.
  const dates = guesses(target.birthDate, 1000, 500);
  expect(dates[500]).toBe(target.birthDate);
  const answers: JsonResponse[] = [];
  // Twenty at a time: attempts in flight count too, so a burst cannot get past the limit.
  for (let i = 0; i < dates.length; i += 20) {
    answers.push(
      ...(await Promise.all(
        dates.slice(i, i + 20).map((birthDate, j) =>
          verify(
            {
              birthDate,
              family: target.family,
              patientId: target.id,
              callerId: `+1617555${String(2000 + ((i + j) % 200)).padStart(4, '0')}`,
            },
            ivr,
          ),
        ),
      )),
    );
  }
  // Evaluated: answered 200 (verified or not). Held: 429 with hold 'patient', claim never looked at.
  const evaluated = answers.filter((a) => a.status === 200);
  const held = answers.filter((a) => a.status === 429 && a.body.hold === 'patient');
  const found = evaluated.filter((a) => a.body.verified === true).length;
  console.log(`guesses evaluated ${evaluated.length} of ${dates.length}, found ${found}`);
  expect(evaluated.length + held.length).toBe(dates.length);
  expect(evaluated.length).toBeLessThanOrEqual(MAX_PATIENT_FAILURES);
  expect(evaluated.length).toBeGreaterThan(0);
  expect(found).toBe(0);

  const refusal = held[held.length - 1];
  expect(refusal?.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(refusal?.body).toMatchObject({ code: 'TOO_MANY_ATTEMPTS', status: 429, hold: 'patient' });
  const retryAfter = Number(refusal?.headers.get('retry-after'));
  expect(retryAfter).toBeGreaterThan(500);
  expect(retryAfter).toBeLessThanOrEqual(600);
  const text = JSON.stringify(refusal?.body);
  for (const phi of [target.id, target.family, target.birthDate]) expect(text).not.toContain(phi);

  // Held means held: the right answer waits too, named or searched for, from any IVR caller.
  const rightNamed = await verify(
    { birthDate: target.birthDate, family: target.family, patientId: target.id, callerId: '+16175553999' },
    ivr,
  );
  expect(rightNamed.status).toBe(429);
  expect(rightNamed.body.hold).toBe('patient');
  const rightSearched = await verify(
    { birthDate: target.birthDate, family: target.family, callerId: '+16175553998' },
    ivr,
  );
  expect(rightSearched.status).toBe(429);
  expect(rightSearched.body.hold).toBe('patient');
  // Another patient is not held.
  const other = await seeded('pat-0005');
  const otherRes = await verify(
    { birthDate: other.birthDate, family: other.family, patientId: other.id, callerId: '+16175553997' },
    ivr,
  );
  expect(otherRes.body).toMatchObject({ verified: true, patientId: other.id });

  // Desks hear it once, with references only.
  const [event, ...more] = await waitFor(
    () => Promise.resolve(heldEvents(target.id).length > 0 ? heldEvents(target.id) : undefined),
    { timeoutMs: 20000, what: 'the patient.verification-held event' },
  );
  expect(more).toEqual([]);
  expect(event?.data).toEqual({ connection: 'sandbox', patientId: target.id, heldUntil: expect.any(String) });
  const until = Date.parse(String(event?.data.heldUntil));
  expect(until - Date.now()).toBeGreaterThan(500_000);
  expect(until - Date.now()).toBeLessThanOrEqual(600_000);
  for (const phi of [target.family, target.birthDate, target.phone]) expect(event?.raw).not.toContain(phi);

  // Redis names patients only by keyed hash; the logs never carry what the callers said.
  const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 2 });
  try {
    const keys = await redis.keys(`{${gw.prefix}}:verify-patient-*`);
    expect(keys.length).toBeGreaterThan(0);
    for (const key of keys) expect(key).not.toContain('pat-');
  } finally {
    redis.disconnect();
  }
  const logs = gw.logs.text();
  expect(logs).toContain('identity verification by phone held for a patient');
  for (const phi of [target.family, target.birthDate, dates[0] as string]) expect(logs).not.toContain(phi);
});

it("never lets wrong guesses sent with a patient's own number keep an agent desk from verifying them", async () => {
  const a = await seeded('pat-0003');
  // The guesser calls as A: A's own number is the callerId of every wrong guess.
  const wrong = guesses(a.birthDate, 40, 39).slice(0, 30);
  const statuses: number[] = [];
  for (const birthDate of wrong) {
    statuses.push(
      (await verify({ birthDate, family: a.family, patientId: a.id, callerId: a.phone }, ivr)).status,
    );
  }
  // The caller limit (5) tripped first; the hold is on too once enough callers' guesses reach A.
  expect(statuses.slice(0, 5)).toEqual([200, 200, 200, 200, 200]);
  expect(statuses.slice(5).every((s) => s === 429)).toBe(true);
  for (let i = 0; i < MAX_PATIENT_FAILURES; i++) {
    await verify(
      { birthDate: wrong[i], family: a.family, patientId: a.id, callerId: `+1617555${4000 + i}` },
      ivr,
    );
  }
  // A's number is refused by the caller limit; from a fresh number, it is the patient hold.
  const ivrRight = await verify(
    { birthDate: a.birthDate, family: a.family, patientId: a.id, callerId: '+16175554998' },
    ivr,
  );
  expect(ivrRight.status).toBe(429);
  expect(ivrRight.body.hold).toBe('patient');
  await waitFor(() => Promise.resolve(heldEvents(a.id).length > 0 ? true : undefined), {
    timeoutMs: 20000,
    what: "A's hold event",
  });

  // The agent desk, with A on its screen and A on the line (the same number), verifies A.
  const atDesk = await verify(
    { birthDate: a.birthDate, family: a.family, patientId: a.id, callerId: a.phone },
    desk,
  );
  expect(atDesk.status).toBe(200);
  expect(atDesk.body).toMatchObject({ verified: true, patientId: a.id, freshness: { source: 'ehr' } });
  // ... and reads the record: the hold stops phone self-verification, not the desk.
  const record = await http('GET', `${gw.url}/v1/patients/${a.id}`, { headers: desk });
  expect(record.status).toBe(200);
  // A desk search without the patient on screen is self-verification like any other: held.
  const deskSearch = await verify(
    { birthDate: a.birthDate, family: a.family, callerId: '+16175554999' },
    desk,
  );
  expect(deskSearch.status).toBe(429);
  expect(deskSearch.body.hold).toBe('patient');
  // Another read-only client naming A is no desk: held.
  const otherIvr = await clientKey('second-ivr', ['patients:read']);
  const fromOtherIvr = await verify(
    { birthDate: a.birthDate, family: a.family, patientId: a.id, callerId: a.phone },
    otherIvr,
  );
  expect(fromOtherIvr.status).toBe(429);
  expect(fromOtherIvr.body.hold).toBe('patient');
});

it("counts an agent desk's failures against the patient without ever holding the desk", async () => {
  const b = await seeded('pat-0004');
  const wrong = guesses(b.birthDate, 20, 19);
  for (let i = 0; i < MAX_PATIENT_FAILURES; i++) {
    const res = await verify(
      { birthDate: wrong[i], family: b.family, patientId: b.id, callerId: `+1617555${5000 + i}` },
      desk,
    );
    expect({ i, status: res.status, verified: res.body.verified }).toEqual({
      i,
      status: 200,
      verified: false,
    });
  }
  // The desk's failures started a hold: self-service waits, subscribers hear it.
  const fromIvr = await verify(
    { birthDate: b.birthDate, family: b.family, patientId: b.id, callerId: '+16175555999' },
    ivr,
  );
  expect(fromIvr.status).toBe(429);
  expect(fromIvr.body.hold).toBe('patient');
  await waitFor(() => Promise.resolve(heldEvents(b.id).length > 0 ? true : undefined), {
    timeoutMs: 20000,
    what: "B's hold event",
  });
  // The desk goes on: its next wrong answer is evaluated, and the right one verifies.
  const deskWrong = await verify(
    { birthDate: wrong[15], family: b.family, patientId: b.id, callerId: '+16175555998' },
    desk,
  );
  expect(deskWrong.status).toBe(200);
  expect(deskWrong.body.verified).toBe(false);
  const deskRight = await verify(
    { birthDate: b.birthDate, family: b.family, patientId: b.id, callerId: '+16175555998' },
    desk,
  );
  expect(deskRight.body).toMatchObject({ verified: true, patientId: b.id });
});
