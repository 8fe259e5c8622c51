/**
 * PHI never reaches the logs. Marked values are placed in every patient field, in URL queries, in
 * request bodies and in an EHR's error text, and driven through success and failure paths; the
 * captured log output must contain none of them.
 */
import { http } from '../support/http';
import { setFaults } from '../support/pipeline';
import { startEchoEhr, type EchoEhr } from '../support/echo-ehr';
import { ehrProfile } from '../support/ehr-profile';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { waitFor } from '../support/wait-for';

const CANARY = {
  given: 'Qqcanarygiven',
  family: 'Zzcanaryfamily',
  birthDate: '1913-07-19',
  phone: '+16465550191',
  phoneDigits: '6465550191',
  newPhoneDigits: '6465550192',
  email: 'canary.mail@canary-mail.example',
  line: 'Canaryline 77 Road',
  city: 'Canarycity',
  // ZIP+4: five bare digits turn up by chance in the random hex of request and operation ids.
  postalCode: '09876-5432',
  mrn: 'MRNCANARY77',
  language: 'qqx',
};

const canaryPatient = (id?: string) => ({
  resourceType: 'Patient',
  ...(id ? { id, meta: { versionId: '1' } } : {}),
  identifier: [
    {
      type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'MR' }] },
      system: 'http://sandbox.continuum.example/mrn',
      value: CANARY.mrn,
    },
  ],
  name: [{ use: 'official', family: CANARY.family, given: [CANARY.given] }],
  birthDate: CANARY.birthDate,
  gender: 'unknown',
  telecom: [
    { system: 'phone', value: CANARY.phone, use: 'home' },
    { system: 'email', value: CANARY.email },
  ],
  address: [
    { use: 'home', line: [CANARY.line], city: CANARY.city, state: 'MA', postalCode: CANARY.postalCode },
  ],
});

let gw: TestGateway;
let echo: EchoEhr;

const profile = ehrProfile();

beforeAll(async () => {
  echo = await startEchoEhr(canaryPatient('echo-canary-1'));
  gw = await startTestGateway({
    overrides: {
      sandbox: { enabled: true, patientCount: 220 },
      mappings: { dir: profile.dir },
      connections: { sandbox: {}, echo: { baseUrl: echo.baseUrl, mappingProfile: profile.name } },
      defaultConnection: 'sandbox',
    },
  });
});
afterAll(async () => {
  await gw.stop();
  await echo.close();
  profile.remove();
});

async function settle(operationId: string): Promise<any> {
  return waitFor(async () => {
    const r = await http('GET', `${gw.url}/v1/operations/${operationId}`);
    return ['succeeded', 'failed', 'needs-review'].includes(r.body.status as string) ? r.body : undefined;
  });
}

it('keeps every canary value out of the logs on normal and error paths', async () => {
  // Normal path, against the sandbox EHR.
  const created = await http('POST', `${gw.fhirBase}/Patient`, {
    body: canaryPatient(),
    headers: { 'content-type': 'application/fhir+json' },
  });
  expect(created.status).toBe(201);
  const id = created.body.id as string;

  const lookup = await http('GET', `${gw.url}/v1/patients/lookup?phone=${CANARY.phoneDigits}`);
  expect(lookup.body.matches.map((m: { id: string }) => m.id)).toContain(id);
  expect((await http('GET', `${gw.url}/v1/patients/${id}`)).body.name.family).toBe(CANARY.family);

  const update = await http('PATCH', `${gw.url}/v1/patients/${id}`, {
    body: {
      phones: [CANARY.newPhoneDigits],
      email: CANARY.email.replace('mail@', 'mail2@'),
      address: { line: [CANARY.line], city: CANARY.city, postalCode: CANARY.postalCode },
      preferredLanguage: CANARY.language,
    },
  });
  expect(update.status).toBe(202);
  expect((await settle(update.body.operationId as string)).status).toBe('succeeded');

  // Registration: every identifying field of a new patient, through the queue to the EHR.
  const registered = await http('POST', `${gw.url}/v1/patients`, {
    body: {
      name: { given: [CANARY.given], family: CANARY.family },
      birthDate: CANARY.birthDate,
      mrn: `${CANARY.mrn}-2`,
      phones: [CANARY.phoneDigits],
      email: CANARY.email,
      address: { line: [CANARY.line], city: CANARY.city, postalCode: CANARY.postalCode },
    },
    headers: { prefer: 'wait=10', 'x-contact-id': 'canary-call-1' },
  });
  expect(registered.status).toBe(201);
  // And a registration the EHR rejects, its error text quoting the body.
  const rejectedCreate = await http('POST', `${gw.url}/v1/patients?connection=echo`, {
    body: { name: { given: [CANARY.given], family: CANARY.family }, birthDate: CANARY.birthDate },
  });
  expect(rejectedCreate.status).toBe(202);

  // A call logged with the agent's notes, and a callback to the caller's number.
  const call = await http('POST', `${gw.url}/v1/calls`, {
    body: {
      patientId: id,
      startedAt: '2026-11-27T14:00:00Z',
      endedAt: '2026-11-27T14:05:00Z',
      notes: `${CANARY.given} ${CANARY.family} (${CANARY.birthDate}) lives at ${CANARY.line}, ${CANARY.city}`,
    },
    headers: { prefer: 'wait=10' },
  });
  expect(call.status).toBe(201);
  const callback = await http('POST', `${gw.url}/v1/callbacks`, {
    body: { patientId: id, phone: CANARY.phoneDigits, reason: `Call ${CANARY.given} about ${CANARY.email}` },
    headers: { prefer: 'wait=10' },
  });
  expect(callback.status).toBe(201);

  // The EHR down: the lookup and the read are answered from the continuity cache.
  await setFaults(gw.url, { mode: 'down', kind: 'refuse' });
  try {
    const cachedLookup = await http('GET', `${gw.url}/v1/patients/lookup?phone=${CANARY.newPhoneDigits}`);
    expect(cachedLookup.body.freshness.source).toBe('cache');
    const cachedRead = await http('GET', `${gw.url}/v1/patients/${id}`);
    expect(cachedRead.body).toMatchObject({
      freshness: { source: 'cache' },
      name: { family: CANARY.family },
    });
  } finally {
    await setFaults(gw.url, { mode: 'up' });
  }

  // A notification pushed without a valid signature: refused, its body never logged.
  const unsigned = await http('POST', `${gw.url}/webhooks/ehr/sandbox`, {
    body: canaryPatient(),
    headers: { 'x-signature': 'forged' },
  });
  expect(unsigned.status).toBe(401);

  // Error paths: invalid input, malformed bodies, unknown patients, queries carrying PHI.
  await http('PATCH', `${gw.url}/v1/patients/${id}`, {
    body: { phones: [`${CANARY.phoneDigits}99999`], email: CANARY.email },
  });
  await http('PATCH', `${gw.url}/v1/patients/${id}`, {
    raw: `{"email": "${CANARY.email}", "name": "${CANARY.family}"`,
    headers: { 'content-type': 'application/json' },
  });
  await http('PATCH', `${gw.url}/v1/patients/unknown-${CANARY.mrn.toLowerCase()}`, {
    body: { email: CANARY.email },
  });
  await http(
    'GET',
    `${gw.url}/v1/patients/lookup?phone=${CANARY.family}&family=${CANARY.family}&birthdate=${CANARY.birthDate}`,
  );

  // An EHR whose errors quote the request: a failed search and a rejected write.
  const failedLookup = await http(
    'GET',
    `${gw.url}/v1/patients/lookup?phone=${CANARY.phoneDigits}&connection=echo`,
  );
  expect(failedLookup.status).toBeGreaterThanOrEqual(400);
  const rejected = await http('PATCH', `${gw.url}/v1/patients/echo-canary-1?connection=echo`, {
    body: {
      email: CANARY.email.replace('mail@', 'mail3@'),
      address: { line: [CANARY.line], city: CANARY.city },
    },
  });
  expect(rejected.status).toBe(202);
  expect((await settle(rejectedCreate.body.operationId as string)).status).toBe('failed');
  const receipt = await settle(rejected.body.operationId as string);
  expect(receipt.status).toBe('failed');
  expect(receipt.lastError.code).toBe('EHR_REJECTED');
  expect(echo.requests.some((r) => r.method === 'PUT')).toBe(true);

  const logs = gw.logs.text();
  // The logs did record these flows, by reference.
  expect(logs).toContain(update.body.operationId as string);
  expect(logs).toContain(rejected.body.operationId as string);
  expect(logs).toContain('write failed');
  expect(logs).toContain('read answered from the continuity cache');
  for (const [field, value] of Object.entries(CANARY)) {
    expect({ field, found: logs.includes(value) }).toEqual({ field, found: false });
  }
  expect(logs).not.toContain('mail2@');
  expect(logs).not.toContain('Rejected:');
});
