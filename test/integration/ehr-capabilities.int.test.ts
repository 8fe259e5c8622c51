/**
 * The connection's capability profile decides the FHIR interactions: here an EHR declared without
 * phone search, without conditional create and with updates by JSON Patch. A recording proxy in
 * front of the sandbox shows what was actually sent; the sandbox shows the resulting state.
 */
import { createFhirR4Client } from '../../adapters/ehr/fhir-r4/fhir-r4-client';
import { DEFAULT_CAPABILITIES } from '../../src/domain/ehr-capabilities';
import type { Patient } from '../../src/domain/fhir';
import { writeChange } from '../../src/use-cases/ehr-writes';
import type { ConnectionContext } from '../../src/use-cases/use-case-deps';
import { http } from '../support/http';
import { startProxiedGateway, type ProxiedGateway } from '../support/proxied-gateway';
import type { SeenRequest } from '../support/recording-proxy';
import type { TestGateway } from '../support/test-gateway';

let proxied: ProxiedGateway;
let gw: TestGateway;
let seen: SeenRequest[];

beforeAll(async () => {
  proxied = await startProxiedGateway({
    name: 'acme',
    connection: { capabilities: { phoneSearch: false, conditionalCreate: false, update: 'patch' } },
  });
  gw = proxied.gw;
  seen = proxied.proxy.seen;
});
afterAll(async () => {
  await proxied.stop();
});

const sent = (method: string, path: RegExp): SeenRequest[] => proxied.sent(method, path);

it('sends a correction as a JSON Patch under If-Match, never a PUT', async () => {
  seen.length = 0;
  const res = await http('PATCH', `${gw.url}/v1/patients/pat-0090`, {
    body: { email: 'patched@example.org' },
    headers: { prefer: 'wait=10' },
  });
  expect(res.body.status).toBe('succeeded');
  const patient = (await http('GET', `${gw.fhirBase}/Patient/pat-0090`)).body;
  expect(patient.telecom).toContainEqual(
    expect.objectContaining({ system: 'email', value: 'patched@example.org' }),
  );
  const patches = sent('PATCH', /\/Patient\/pat-0090$/);
  expect(patches).toHaveLength(1);
  expect(patches[0]?.ifMatch).toMatch(/^W\/"\d+"$/);
  expect(sent('PUT', /\/Patient\//)).toEqual([]);
});

it('creates once by searching the identifier first, without If-None-Exist', async () => {
  seen.length = 0;
  const slots = await http(
    'GET',
    `${gw.url}/v1/slots?limit=1&from=${new Date(Date.now() + 9 * 86_400_000).toISOString().slice(0, 10)}`,
  );
  const slotId = slots.body.slots[0].id as string;
  const res = await http('POST', `${gw.url}/v1/appointments`, {
    body: { patientId: 'pat-0091', slotId },
    headers: { prefer: 'wait=10' },
  });
  expect(res.body.status).toBe('succeeded');
  const creates = sent('POST', /\/Appointment$/);
  expect(creates).toHaveLength(1);
  expect(creates[0]?.ifNoneExist).toBeUndefined();
  const search = seen.findIndex((s) => s.method === 'GET' && /\/Appointment\?identifier=/.test(s.url));
  expect(search).toBeGreaterThanOrEqual(0);
  expect(search).toBeLessThan(seen.indexOf(creates[0] as SeenRequest));
  expect(sent('PATCH', new RegExp(`/Slot/${slotId}$`))).toHaveLength(1);
  expect((await http('GET', `${gw.fhirBase}/Slot/${slotId}`)).body.status).toBe('busy');
});

it('finds callers through the phone index alone, without a phone search', async () => {
  const read = await http('GET', `${gw.url}/v1/patients/pat-0092`);
  const phone = read.body.phones[0] as string;
  seen.length = 0;
  const lookup = await http('GET', `${gw.url}/v1/patients/lookup?phone=${encodeURIComponent(phone)}`);
  expect(lookup.body.found).toBe(true);
  expect(lookup.body.matches.map((m: { id: string }) => m.id)).toContain('pat-0092');
  expect(seen.some((s) => /\/Patient\?/.test(s.url) && s.url.includes('phone='))).toBe(false);
  expect(sent('GET', /\/Patient\/pat-0092$/)).toHaveLength(1);
});

it('refuses to change a resource read without a version when the EHR requires If-Match', async () => {
  const connection = {
    name: 'strict',
    ehr: createFhirR4Client({
      connection: 'strict',
      baseUrl: gw.fhirBase,
      auth: { type: 'bearer', token: gw.key },
      defaultDeadlineMs: 2000,
    }),
    writeTimeoutMs: 2000,
    capabilities: { ...DEFAULT_CAPABILITIES, update: 'patch', ifMatchRequired: true },
  } as unknown as ConnectionContext;
  const before = (await http('GET', `${gw.fhirBase}/Patient/pat-0093`)).body;
  const { meta: _meta, ...unversioned } = before as Patient;

  await expect(
    writeChange<Patient>(connection, unversioned, { ...unversioned, gender: 'unknown' }),
  ).rejects.toMatchObject({ code: 'EHR_REJECTED' });
  expect((await http('GET', `${gw.fhirBase}/Patient/pat-0093`)).body.meta.versionId).toBe(
    before.meta.versionId,
  );

  // The same change with the version read goes through, as a JSON Patch under If-Match.
  const changed = await writeChange<Patient>(connection, before as Patient, {
    ...(before as Patient),
    gender: 'unknown',
  });
  expect(changed.gender).toBe('unknown');
  expect(changed.meta?.versionId).not.toBe(before.meta.versionId);
});
