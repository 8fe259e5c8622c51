/**
 * What the mapping workbench must refuse or bound, as an engineer meets it through the API: a
 * template that never ends answers with an error (and the gateway keeps answering), a fixture of a
 * kind the runner does not know or that fails against the profile is not written, a cancellation
 * fixture can be saved, a try with a reason the API would refuse says so, and two saves of the same
 * profile never silently undo one another.
 */
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { acmeMappingsDir } from '../support/acme-profile';
import { createClient, type TestClient } from '../support/client-credentials';
import { http } from '../support/http';
import { startInProcessApi, type InProcessApi } from '../support/in-process-api';

jest.setTimeout(90000);

const ENDLESS = '($f := function($n){ $f($n+1) }; $f(0))';

const mappingsDir = acmeMappingsDir();
let api: InProcessApi;
let engineer: TestClient;

beforeAll(async () => {
  api = await startInProcessApi({
    overrides: {
      sandbox: { enabled: true },
      mappings: { dir: mappingsDir },
      connections: { sandbox: { mappingProfile: 'acme' } },
      defaultConnection: 'sandbox',
      tenants: { default: { connections: ['sandbox'] } },
    },
  });
  engineer = await createClient(api.access, 'mapping-guards-engineer', 'default', ['mappings:write']);
});

afterAll(async () => {
  await api.stop();
  rmSync(mappingsDir, { recursive: true, force: true });
});

const call = <T = any>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
  http<T>(method, `${api.url}${path}`, {
    headers: { ...headers, authorization: `Bearer ${engineer.key}` },
    ...(body !== undefined ? { body } : {}),
  });

const acmeFile = (...parts: string[]) => join(mappingsDir, 'acme', ...parts);

async function liveAppointment(id: string): Promise<Record<string, unknown>> {
  const explained = await call('POST', '/v1/mappings/explain', {
    profile: 'acme',
    resourceType: 'Appointment',
    id,
  });
  expect(explained.status).toBe(200);
  return explained.body.resource as Record<string, unknown>;
}

describe('a template that never ends', () => {
  it('is stopped: evaluate answers with the reason, and the gateway answers meanwhile', async () => {
    const evaluating = call('POST', '/v1/mappings/evaluate', {
      profile: 'acme',
      resourceType: 'Patient',
      resource: { resourceType: 'Patient', id: 'guard-1' },
      language: 'jsonata',
      source: ENDLESS,
    });
    const health = await http('GET', `${api.url}/healthz`, { anonymous: true });
    expect(health.status).toBe(200);
    const evaluated = await evaluating;
    expect(evaluated.status).toBe(200);
    expect(evaluated.body.result).toBeNull();
    expect(evaluated.body.error.message).toBe('the template ran longer than 1000 ms (endless recursion?)');
  });

  it('as an unsaved edit, is a problem of its field; as a saved rule, is refused and not written', async () => {
    const edits = [{ file: 'patient.yaml', field: 'write.email.template', source: ENDLESS }];
    const explained = await call('POST', '/v1/mappings/explain', {
      profile: 'acme',
      resourceType: 'Patient',
      resource: { resourceType: 'Patient', id: 'guard-2' },
      edits,
    });
    expect(explained.status).toBe(200);
    expect(explained.body.profile.edited).toBe(false);
    expect(explained.body.problems).toContainEqual({
      file: 'patient.yaml',
      field: 'write.email.template',
      message: expect.stringContaining('the template ran longer than 1000 ms (endless recursion?)'),
    });

    const before = readFileSync(acmeFile('patient.yaml'), 'utf8');
    const saved = await call('PUT', '/v1/mappings/profiles/acme/rules', { edits });
    expect(saved.status).toBe(422);
    expect(saved.body.code).toBe('VALIDATION');
    expect(saved.body.problems).toContainEqual(expect.objectContaining({ field: 'write.email.template' }));
    expect(readFileSync(acmeFile('patient.yaml'), 'utf8')).toBe(before);
  });
});

describe('saving a fixture', () => {
  it('refuses a kind the fixture runner does not know, and writes no folder for it', async () => {
    const refused = await call('POST', '/v1/mappings/profiles/acme/fixtures', {
      kind: 'reed',
      name: 'typo-kind',
      input: { resourceType: 'Patient', id: 'guard-3' },
    });
    expect(refused.status).toBe(400);
    expect(refused.body.code).toBe('VALIDATION');
    expect(refused.body.errors).toContainEqual({
      field: 'kind',
      message: expect.stringMatching(/^is not a fixture kind: one of read, write, create, /),
    });
    expect(existsSync(acmeFile('fixtures', 'reed'))).toBe(false);
  });

  it('refuses a fixture that fails against the profile, with what differs, and writes nothing', async () => {
    const refused = await call('POST', '/v1/mappings/profiles/acme/fixtures', {
      kind: 'read',
      name: 'wrong-expected',
      input: { resourceType: 'Patient', id: 'guard-4', gender: 'female' },
      expected: { id: 'guard-4', gender: 'male' },
    });
    expect(refused.status).toBe(422);
    expect(refused.body.code).toBe('VALIDATION');
    expect(refused.body.problems).toEqual([
      {
        file: 'fixtures/read/wrong-expected.json',
        field: '',
        message: expect.stringContaining('gender: expected "male", got "female"'),
      },
    ]);
    // The record's values stay in the problems, out of the detail that logs may carry.
    expect(refused.body.detail).not.toContain('female');
    expect(existsSync(acmeFile('fixtures', 'read', 'wrong-expected.json'))).toBe(false);
  });

  it('saves a cancellation, a booking and a registration, each passing the profile’s tests', async () => {
    const appointment = await liveAppointment('appt-00003');
    const cancel = await call('POST', '/v1/mappings/profiles/acme/fixtures', {
      kind: 'appointment-write',
      name: 'workbench-cancel',
      action: 'cancel',
      input: appointment,
      reason: 'patient-request',
    });
    expect(cancel.status).toBe(201);
    expect(cancel.body).toEqual({ path: 'fixtures/appointment-write/workbench-cancel.json' });
    const written = JSON.parse(
      readFileSync(acmeFile('fixtures', 'appointment-write', 'workbench-cancel.json'), 'utf8'),
    ) as { action: string; expected: { status: string; cancelationReason?: { text?: string } } };
    expect(written.action).toBe('cancel');
    expect(written.expected.status).toBe('cancelled');
    expect(written.expected.cancelationReason?.text).toBe('patient-request');

    const book = await call('POST', '/v1/mappings/profiles/acme/fixtures', {
      kind: 'appointment-book',
      name: 'workbench-book',
      slot: {
        resourceType: 'Slot',
        id: 'slot-guard',
        schedule: { reference: 'Schedule/sch-0001' },
        status: 'free',
        start: '2026-12-01T09:00:00-05:00',
        end: '2026-12-01T09:30:00-05:00',
      },
      booking: { patientId: 'pat-0002', mode: 'video' },
    });
    expect(book.status).toBe(201);
    const create = await call('POST', '/v1/mappings/profiles/acme/fixtures', {
      kind: 'create',
      name: 'workbench-create',
      patient: { name: { given: ['Sam'], family: 'Lee' }, birthDate: '1990-01-01', gender: 'unknown' },
    });
    expect(create.status).toBe(201);
    const created = JSON.parse(
      readFileSync(acmeFile('fixtures', 'create', 'workbench-create.json'), 'utf8'),
    ) as {
      expected: { resourceType: string };
    };
    expect(created.expected.resourceType).toBe('Patient');

    // The profile with them still loads: a reload takes it.
    const reload = await call('POST', '/v1/mappings/reload', {});
    expect(reload.status).toBe(200);
  });
});

describe('trying a cancellation', () => {
  it('refuses a reason the API would refuse, listing the accepted ones, and previews a table value', async () => {
    const refused = await call('POST', '/v1/mappings/try', {
      profile: 'acme',
      resourceType: 'Appointment',
      id: 'appt-00001',
      change: { action: 'hold', reason: 'patient asked to move it' },
    });
    expect(refused.status).toBe(200);
    expect(refused.body.diff).toEqual([]);
    expect(refused.body.problems).toEqual([
      expect.objectContaining({
        message: expect.stringMatching(
          /^reason: is not a cancellation reason of mapping profile acme; accepted: .*patient-request/,
        ),
      }),
    ]);
    // The words are not repeated back.
    expect(JSON.stringify(refused.body.problems)).not.toContain('asked to move');

    const accepted = await call('POST', '/v1/mappings/try', {
      profile: 'acme',
      resourceType: 'Appointment',
      id: 'appt-00001',
      change: { action: 'cancel', reason: 'pat' },
    });
    expect(accepted.status).toBe(200);
    expect(accepted.body.problems).toEqual([]);
    // The EHR's own code is taken as the value it stands for, as the API takes it.
    expect(JSON.stringify(accepted.body.after.cancelationReason)).toContain('patient-request');
  });
});

describe('saving rules', () => {
  it('refuses a save made on files that changed since (If-Match), and of two saves at once takes one', async () => {
    const path = acmeFile('patient.yaml');
    const read = await call('GET', '/v1/mappings/profiles/acme');
    expect(read.status).toBe(200);
    const loaded = read.body.hash as string;

    const first = await call(
      'PUT',
      '/v1/mappings/profiles/acme/rules',
      { edits: [{ file: 'patient.yaml', field: 'read.birthDate', source: 'birthDate.first()' }] },
      { 'if-match': `"${loaded}"` },
    );
    expect(first.status).toBe(200);
    const afterFirst = readFileSync(path, 'utf8');
    expect(afterFirst).toContain('birthDate: birthDate.first()');

    // A page still holding the old hash: refused, the first save stands.
    const stale = await call(
      'PUT',
      '/v1/mappings/profiles/acme/rules',
      { edits: [{ file: 'patient.yaml', field: 'read.birthDate', source: 'birthDate.last()' }] },
      { 'if-match': `"${loaded}"` },
    );
    expect(stale.status).toBe(409);
    expect(stale.body.code).toBe('CONFLICT');
    expect(stale.body.hash).toBe(first.body.hash);
    expect(readFileSync(path, 'utf8')).toBe(afterFirst);

    // Two pages saving on the same files at the same moment: one is written, the other told.
    const both = await Promise.all(
      ['birthDate.single()', 'birthDate.last()'].map((source) =>
        call(
          'PUT',
          '/v1/mappings/profiles/acme/rules',
          { edits: [{ file: 'patient.yaml', field: 'read.birthDate', source }] },
          { 'if-match': `"${String(first.body.hash)}"` },
        ),
      ),
    );
    expect(both.map((response) => response.status).sort()).toEqual([200, 409]);
    const winner = both.find((response) => response.status === 200);
    const text = readFileSync(path, 'utf8');
    expect((await call('GET', '/v1/mappings/profiles/acme')).body.hash).toBe(winner?.body.hash);
    expect([
      text.includes('birthDate: birthDate.single()'),
      text.includes('birthDate: birthDate.last()'),
    ]).toEqual(expect.arrayContaining([true, false]));
    // No temporary file is left beside the profile's files.
    expect(readdirSync(acmeFile()).filter((name) => name.includes('.saving'))).toEqual([]);

    const malformed = await call(
      'PUT',
      '/v1/mappings/profiles/acme/rules',
      { edits: [{ file: 'patient.yaml', field: 'read.birthDate', source: 'birthDate' }] },
      { 'if-match': '"3"' },
    );
    expect(malformed.status).toBe(400);
    expect(readFileSync(path, 'utf8')).toBe(text);
  });
});
