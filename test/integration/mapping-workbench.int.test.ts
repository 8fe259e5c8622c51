/**
 * The mapping workbench API as an integration engineer uses it against the sandbox EHR: explain a
 * live patient under a profile whose MRN system does not match (MRN empty, with the reason), fix
 * the rule as an unsaved edit, try a correction without sending it, evaluate single expressions,
 * save a fixture and the rule. Only clients with mappings:write get in; a tenant sees only its own
 * profiles and connections; every call lands in the audit trail with the record it concerned.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { AuditRecord } from '../../src/domain/audit';
import { ACME_MRN_SYSTEM, acmeMappingsDir, SANDBOX_MRN_SYSTEM } from '../support/acme-profile';
import { createClient, type TestClient } from '../support/client-credentials';
import { http } from '../support/http';
import { startInProcessApi, type InProcessApi } from '../support/in-process-api';

jest.setTimeout(60000);

const mappingsDir = acmeMappingsDir();
let api: InProcessApi;
let engineer: TestClient;
let desk: TestClient;
let southEngineer: TestClient;

beforeAll(async () => {
  api = await startInProcessApi({
    overrides: {
      sandbox: { enabled: true },
      mappings: { dir: mappingsDir },
      connections: { sandbox: { mappingProfile: 'acme' }, other: {} },
      defaultConnection: 'sandbox',
      tenants: { default: { connections: ['sandbox'] }, south: { connections: ['other'] } },
    },
  });
  engineer = await createClient(api.access, 'mapping-engineer', 'default', ['mappings:write']);
  desk = await createClient(api.access, 'mapping-desk', 'default', ['patients:read', 'patients:write']);
  southEngineer = await createClient(api.access, 'mapping-engineer-south', 'south', ['mappings:write']);
});

afterAll(async () => {
  await api.stop();
  rmSync(mappingsDir, { recursive: true, force: true });
});

interface Field {
  field: string;
  file: string;
  rule: string;
  language: string;
  expression: string;
  value: unknown;
  empty: boolean;
  reason?: string;
}

const call = <T = any>(client: TestClient, method: string, path: string, body?: unknown) =>
  http<T>(method, `${api.url}${path}`, {
    headers: { authorization: `Bearer ${client.key}` },
    ...(body !== undefined ? { body } : {}),
  });

const fieldOf = (fields: Field[], name: string): Field | undefined => fields.find((f) => f.field === name);

async function auditRecords(): Promise<AuditRecord[]> {
  const found: AuditRecord[] = [];
  for await (const stored of api.rig.deps.audit.scan(undefined, undefined)) found.push(stored.record);
  return found;
}

async function ehrPatient(id: string): Promise<{ meta?: { versionId?: string }; telecom?: unknown[] }> {
  const response = await http('GET', `${api.rig.fhirBase}/Patient/${id}`, { anonymous: true });
  expect(response.status).toBe(200);
  return response.body as { meta?: { versionId?: string }; telecom?: unknown[] };
}

it('explains a live patient field by field: MRN empty, with what the record has against what the rule asks', async () => {
  const response = await call<{
    profile: { name: string; edited: boolean };
    fields: Field[];
    resource: { id: string };
  }>(engineer, 'POST', '/v1/mappings/explain', { profile: 'acme', resourceType: 'Patient', id: 'pat-0001' });
  expect(response.status).toBe(200);
  expect(response.body.profile).toMatchObject({ name: 'acme', edited: false });
  expect(response.body.resource.id).toBe('pat-0001');
  const mrn = fieldOf(response.body.fields, 'mrn');
  expect(mrn).toMatchObject({ file: 'patient.yaml', rule: 'read.mrn', language: 'fhirpath', empty: true });
  expect(mrn?.reason).toBe(
    `no identifier has a system in %mrnSystems (${ACME_MRN_SYSTEM}); the record's identifier systems: ${SANDBOX_MRN_SYSTEM}. ` +
      `If ${SANDBOX_MRN_SYSTEM} (typed MR) holds this EHR's MRNs, add it to identifiers.mrn.systems in profile.yaml`,
  );
  const family = fieldOf(response.body.fields, 'name.family');
  expect(family).toMatchObject({ rule: 'read.name.family', empty: false });
  expect(typeof family?.value).toBe('string');
  expect(family?.reason).toBeUndefined();
  // Every model field is there, each with its expression.
  for (const name of [
    'id',
    'version',
    'name.given',
    'birthDate',
    'phones',
    'address.city',
    'preferredLanguage',
  ]) {
    expect(fieldOf(response.body.fields, name)?.expression).toEqual(expect.any(String));
  }
});

it('explains with an unsaved edit, and answers a broken edit with its problems instead of an error', async () => {
  const fixed = await call<{ profile: { edited: boolean }; fields: Field[]; problems: unknown[] }>(
    engineer,
    'POST',
    '/v1/mappings/explain',
    {
      profile: 'acme',
      resourceType: 'Patient',
      id: 'pat-0001',
      edits: [
        {
          file: 'patient.yaml',
          field: 'read.mrn',
          source: `identifier.where(system = '${SANDBOX_MRN_SYSTEM}').value.first()`,
        },
      ],
    },
  );
  expect(fixed.status).toBe(200);
  expect(fixed.body.profile.edited).toBe(true);
  expect(fixed.body.problems).toEqual([]);
  expect(fieldOf(fixed.body.fields, 'mrn')).toMatchObject({
    empty: false,
    value: expect.stringMatching(/^MRN\d{7}$/),
  });

  const broken = await call<{
    profile: { edited: boolean };
    fields: Field[];
    problems: { file: string; field: string; message: string }[];
  }>(engineer, 'POST', '/v1/mappings/explain', {
    profile: 'acme',
    resourceType: 'Patient',
    id: 'pat-0001',
    edits: [{ file: 'patient.yaml', field: 'read.mrn', source: 'identifier.where(system = ' }],
  });
  expect(broken.status).toBe(200);
  expect(broken.body.profile.edited).toBe(false);
  expect(broken.body.problems).toEqual([
    expect.objectContaining({
      file: 'patient.yaml',
      field: 'read.mrn',
      message: expect.stringContaining('does not compile'),
    }),
  ]);
  // The record is still explained, with the profile as it is.
  expect(fieldOf(broken.body.fields, 'mrn')?.empty).toBe(true);
});

it('explains a live appointment and a slot with its schedule', async () => {
  const appointment = await call<{ fields: Field[] }>(engineer, 'POST', '/v1/mappings/explain', {
    profile: 'acme',
    resourceType: 'Appointment',
    id: 'appt-00001',
  });
  expect(appointment.status).toBe(200);
  expect(fieldOf(appointment.body.fields, 'patientId')).toMatchObject({
    file: 'appointment.yaml',
    rule: 'read.patient',
    empty: false,
    value: expect.stringMatching(/^pat-/),
  });
  const slot = await call<{ fields: Field[] }>(engineer, 'POST', '/v1/mappings/explain', {
    profile: 'acme',
    resourceType: 'Slot',
    id: 'slot-000001',
  });
  expect(slot.status).toBe(200);
  expect(fieldOf(slot.body.fields, 'practitioner')).toMatchObject({
    rule: 'schedule.practitioner',
    empty: false,
  });
});

it('tries a correction: the FHIR change and the request it would send, with nothing sent', async () => {
  const before = await ehrPatient('pat-0002');
  const response = await call<{
    before: { id: string };
    after: { telecom: { system: string; value: string }[] };
    diff: { op: string; path: string; from?: unknown; value?: unknown }[];
    request: { method: string; url: string; headers: Record<string, string> };
    problems: unknown[];
  }>(engineer, 'POST', '/v1/mappings/try', {
    profile: 'acme',
    resourceType: 'Patient',
    id: 'pat-0002',
    change: { email: 'workbench-try@example.org' },
  });
  expect(response.status).toBe(200);
  expect(response.body.problems).toEqual([]);
  expect(response.body.after.telecom).toContainEqual(
    expect.objectContaining({ system: 'email', value: 'workbench-try@example.org' }),
  );
  expect(response.body.diff).toContainEqual(
    expect.objectContaining({ path: expect.stringMatching(/^\/telecom/), value: expect.anything() }),
  );
  expect(response.body.request).toEqual({
    method: 'PUT',
    url: 'Patient/pat-0002',
    headers: { 'If-Match': `W/"${before.meta?.versionId ?? ''}"` },
  });
  // Nothing reached the EHR.
  const after = await ehrPatient('pat-0002');
  expect(after.meta?.versionId).toBe(before.meta?.versionId);
  expect(JSON.stringify(after.telecom)).not.toContain('workbench-try@example.org');
});

it('tries a cancellation of a live appointment', async () => {
  const response = await call<{ diff: { op: string; path: string; from?: unknown; value?: unknown }[] }>(
    engineer,
    'POST',
    '/v1/mappings/try',
    { profile: 'acme', resourceType: 'Appointment', id: 'appt-00001', change: { action: 'cancel' } },
  );
  expect(response.status).toBe(200);
  expect(response.body.diff).toContainEqual({
    op: 'replace',
    path: '/status',
    from: 'booked',
    value: 'cancelled',
  });
});

it('evaluates one expression on a live record, and says where a broken one breaks', async () => {
  const ok = await call(engineer, 'POST', '/v1/mappings/evaluate', {
    profile: 'acme',
    resourceType: 'Patient',
    id: 'pat-0001',
    language: 'fhirpath',
    source: 'identifier.system',
  });
  expect(ok.status).toBe(200);
  expect(ok.body).toEqual({ result: [SANDBOX_MRN_SYSTEM] });

  const fhirpath = await call(engineer, 'POST', '/v1/mappings/evaluate', {
    profile: 'acme',
    resourceType: 'Patient',
    id: 'pat-0001',
    language: 'fhirpath',
    source: 'identifier\n  .where(system = )',
  });
  expect(fhirpath.status).toBe(200);
  expect(fhirpath.body.error).toMatchObject({
    line: 2,
    column: expect.any(Number),
    message: expect.any(String),
  });

  const jsonata = await call(engineer, 'POST', '/v1/mappings/evaluate', {
    profile: 'acme',
    resourceType: 'Patient',
    id: 'pat-0001',
    language: 'jsonata',
    source: '{ "mrnSystem": $mrnSystems[0], "family": name[0].family }',
  });
  expect(jsonata.status).toBe(200);
  expect(jsonata.body.result).toMatchObject({ mrnSystem: ACME_MRN_SYSTEM, family: expect.any(String) });
});

it('saves the case as a fixture, and refuses to overwrite it unless asked', async () => {
  const patient = (
    await call(engineer, 'POST', '/v1/mappings/explain', {
      profile: 'acme',
      resourceType: 'Patient',
      id: 'pat-0003',
    })
  ).body.resource as object;
  const body = {
    kind: 'read',
    name: 'workbench-pat-0003',
    description: 'saved from the workbench',
    input: patient,
  };
  const saved = await call(engineer, 'POST', '/v1/mappings/profiles/acme/fixtures', body);
  expect(saved.status).toBe(201);
  expect(saved.body).toEqual({ path: 'fixtures/read/workbench-pat-0003.json' });
  const file = join(mappingsDir, 'acme', 'fixtures', 'read', 'workbench-pat-0003.json');
  const written = JSON.parse(readFileSync(file, 'utf8')) as { input: unknown; expected: { id: string } };
  expect(written.input).toEqual(patient);
  expect(written.expected.id).toBe('pat-0003');

  const again = await call(engineer, 'POST', '/v1/mappings/profiles/acme/fixtures', body);
  expect(again.status).toBe(409);
  expect(again.body.code).toBe('CONFLICT');
  const replaced = await call(engineer, 'POST', '/v1/mappings/profiles/acme/fixtures', {
    ...body,
    overwrite: true,
  });
  expect(replaced.status).toBe(201);
});

it('saves a rule only when the profile compiles and its fixtures pass, keeping the comments', async () => {
  const path = join(mappingsDir, 'acme', 'patient.yaml');
  const original = readFileSync(path, 'utf8');
  const refused = await call(engineer, 'PUT', '/v1/mappings/profiles/acme/rules', {
    edits: [{ file: 'patient.yaml', field: 'read.birthDate', source: 'birthDat' }],
  });
  expect(refused.status).toBe(422);
  expect(refused.body.code).toBe('VALIDATION');
  expect(refused.body.problems.length).toBeGreaterThan(0);
  expect(readFileSync(path, 'utf8')).toBe(original);

  const source =
    "identifier.where(use.exists().not() or use != 'old').where(system in %mrnSystems).value.first()";
  const saved = await call(engineer, 'PUT', '/v1/mappings/profiles/acme/rules', {
    edits: [{ file: 'patient.yaml', field: 'read.mrn', source }],
  });
  expect(saved.body).toEqual({ written: ['patient.yaml'], hash: expect.stringMatching(/^[0-9a-f]{64}$/) });
  const text = readFileSync(path, 'utf8');
  expect(text).toContain(`mrn: ${source}`);
  // Only the rule changed: comments and every other line are as they were.
  expect(text.split('\n').filter((line) => !original.split('\n').includes(line))).toEqual([
    `  mrn: ${source}`,
  ]);
  expect(text).toContain('# FHIR R4 Patient <-> call-center patient model.');
  const detail = await call(engineer, 'GET', '/v1/mappings/profiles/acme');
  expect(detail.body.hash).toBe(saved.body.hash);
  expect(detail.body.rules).toContainEqual({
    file: 'patient.yaml',
    field: 'read.mrn',
    language: 'fhirpath',
    source,
  });
});

it("lists the tenant's own profiles only, and confines explain to the tenant's connections", async () => {
  const mine = await call(engineer, 'GET', '/v1/mappings/profiles');
  expect(mine.status).toBe(200);
  expect(mine.body.profiles).toEqual([
    expect.objectContaining({
      name: 'acme',
      connections: ['sandbox'],
      fixtures: expect.objectContaining({ read: expect.any(Number) }),
    }),
  ]);
  const theirs = await call(southEngineer, 'GET', '/v1/mappings/profiles');
  expect(theirs.body.profiles.map((p: { name: string }) => p.name)).toEqual(['default']);

  const foreignProfile = await call(southEngineer, 'POST', '/v1/mappings/explain', {
    profile: 'acme',
    resourceType: 'Patient',
    id: 'pat-0001',
  });
  expect(foreignProfile.status).toBe(404);
  const foreignConnection = await call(southEngineer, 'POST', '/v1/mappings/explain', {
    profile: 'default',
    connection: 'sandbox',
    resourceType: 'Patient',
    id: 'pat-0001',
  });
  expect(foreignConnection.status).toBe(404);
  const foreignRules = await call(southEngineer, 'PUT', '/v1/mappings/profiles/acme/rules', {
    edits: [{ file: 'patient.yaml', field: 'read.gender', source: 'gender' }],
  });
  expect(foreignRules.status).toBe(404);
  expect(existsSync(join(mappingsDir, 'acme', 'patient.yaml'))).toBe(true);
});

it('refuses a client without mappings:write', async () => {
  for (const [method, path, body] of [
    ['GET', '/v1/mappings/profiles', undefined],
    ['POST', '/v1/mappings/explain', { profile: 'acme', resourceType: 'Patient', id: 'pat-0001' }],
    [
      'PUT',
      '/v1/mappings/profiles/acme/rules',
      { edits: [{ file: 'patient.yaml', field: 'read.gender', source: 'gender' }] },
    ],
  ] as const) {
    const response = await call(desk, method, path, body);
    expect(response.status).toBe(403);
    expect(JSON.stringify(response.body)).not.toContain('pat-0001"');
  }
});

it('records every workbench call in the audit trail, with the record it concerned', async () => {
  await call(engineer, 'POST', '/v1/mappings/explain', {
    profile: 'acme',
    resourceType: 'Patient',
    id: 'pat-0004',
  });
  await call(engineer, 'POST', '/v1/mappings/explain', {
    profile: 'acme',
    resourceType: 'Appointment',
    id: 'appt-00002',
  });
  const records = await auditRecords();
  const mine = records.filter((record) => record.client === engineer.id);
  expect(mine).toContainEqual(
    expect.objectContaining({
      kind: 'mapping.explain',
      action: 'R',
      patients: ['Patient/pat-0004'],
      outcome: 0,
    }),
  );
  expect(mine).toContainEqual(
    expect.objectContaining({ kind: 'mapping.explain', resources: ['Appointment/appt-00002'] }),
  );
  for (const kind of [
    'mapping.profiles',
    'mapping.profile',
    'mapping.try',
    'mapping.evaluate',
    'mapping.fixture',
    'mapping.rules',
  ]) {
    expect(mine.map((record) => record.kind)).toContain(kind);
  }
  // The refused calls of the desk client are not workbench accesses.
  expect(records.filter((record) => record.client === desk.id && record.kind.startsWith('mapping.'))).toEqual(
    [],
  );
});
