/**
 * The sandbox EHR's FHIR REST behaviour over real HTTP, mounted the way the gateway mounts it
 * (`/sandbox/fhir`, before a global JSON parser): metadata, CRUD with versions, validation, conditional
 * create, PATCH, batch and transaction.
 */
import express from 'express';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { validateResource } from '@medplum/core';
import type { CapabilityStatement } from '@medplum/fhirtypes';
import { createSandboxEhr, type SandboxEhr } from '../../adapters/ehr/sandbox';

const TODAY = new Date('2026-03-02T12:00:00Z');
const FHIR_JSON = 'application/fhir+json';

interface FhirAnswer {
  status: number;
  headers: Headers;
  body: any;
}

let sandbox: SandboxEhr;
let server: Server;
let base: string;

beforeAll(async () => {
  sandbox = await createSandboxEhr({ today: TODAY, patientCount: 200 });
  const app = express();
  app.use('/sandbox/fhir', sandbox.router);
  // A global parser after the mount, as in the gateway: the sandbox must not depend on it.
  app.use(express.json());
  server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  base = `http://127.0.0.1:${String((server.address() as AddressInfo).port)}/sandbox/fhir`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await sandbox.close();
});

async function fhir(
  method: string,
  path: string,
  options: { body?: unknown; headers?: Record<string, string>; contentType?: string } = {},
): Promise<FhirAnswer> {
  const headers: Record<string, string> = { accept: FHIR_JSON, ...options.headers };
  let body: string | undefined;
  if (options.body !== undefined) {
    headers['content-type'] = options.contentType ?? FHIR_JSON;
    body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
  }
  const response = await fetch(`${base}${path}`, { method, headers, body });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
}

function newPatient(family: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { resourceType: 'Patient', name: [{ use: 'official', family, given: ['Test'] }], ...extra };
}

function expectOutcome(answer: FhirAnswer, status: number): void {
  expect(answer.status).toBe(status);
  expect(answer.headers.get('content-type')).toMatch(/^application\/fhir\+json/);
  expect(answer.body.resourceType).toBe('OperationOutcome');
  expect(answer.body.issue.length).toBeGreaterThan(0);
}

describe('GET /metadata', () => {
  it('serves a valid R4 CapabilityStatement describing what the sandbox does', async () => {
    const answer = await fhir('GET', '/metadata');
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toMatch(/^application\/fhir\+json/);
    const statement = answer.body as CapabilityStatement;
    expect(() => validateResource(statement)).not.toThrow();
    expect(statement.fhirVersion).toBe('4.0.1');
    expect(statement.implementation?.url).toBe(base);
    const resources = statement.rest?.[0]?.resource ?? [];
    const types = resources.map((r) => r.type);
    for (const type of [
      'Patient',
      'Practitioner',
      'Location',
      'Organization',
      'Schedule',
      'Slot',
      'Appointment',
      'Encounter',
    ]) {
      expect(types).toContain(type);
    }
    const patient = resources.find((r) => r.type === 'Patient');
    expect(patient).toMatchObject({
      conditionalCreate: true,
      versioning: 'versioned-update',
      updateCreate: false,
    });
    expect(patient?.interaction?.map((i) => i.code)).toEqual(
      expect.arrayContaining([
        'read',
        'vread',
        'update',
        'patch',
        'delete',
        'history-instance',
        'create',
        'search-type',
      ]),
    );
    expect(patient?.searchParam?.map((p) => p.name)).toEqual(
      expect.arrayContaining(['phone', 'identifier', 'family', 'birthdate', '_id']),
    );
  });
});

describe('read, create, update, delete', () => {
  it('reads a seeded patient with its ETag and Last-Modified', async () => {
    const answer = await fhir('GET', '/Patient/pat-0001');
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ resourceType: 'Patient', id: 'pat-0001' });
    expect(answer.headers.get('etag')).toBe(`W/"${String(answer.body.meta.versionId)}"`);
    expect(new Date(answer.headers.get('last-modified') ?? '').getTime()).toBe(
      Math.floor(new Date(answer.body.meta.lastUpdated).getTime() / 1000) * 1000,
    );
  });

  it('answers 404 with an OperationOutcome for an unknown id', async () => {
    expectOutcome(await fhir('GET', '/Patient/does-not-exist'), 404);
  });

  it('creates with a server-assigned id, answers 201 with an absolute versioned Location', async () => {
    const answer = await fhir('POST', '/Patient', { body: newPatient('Created', { id: 'client-chosen' }) });
    expect(answer.status).toBe(201);
    const { id, meta } = answer.body;
    expect(id).not.toBe('client-chosen');
    expect(answer.headers.get('location')).toBe(
      `${base}/Patient/${String(id)}/_history/${String(meta.versionId)}`,
    );
    expect(answer.headers.get('etag')).toBe(`W/"${String(meta.versionId)}"`);
    expect((await fhir('GET', `/Patient/${String(id)}`)).body.name[0].family).toBe('Created');
  });

  it('accepts application/json as well as application/fhir+json', async () => {
    const answer = await fhir('POST', '/Patient', {
      body: newPatient('PlainJson'),
      contentType: 'application/json',
    });
    expect(answer.status).toBe(201);
  });

  it('updates with a matching If-Match, refuses a stale one with 412, keeps both versions', async () => {
    const created = (await fhir('POST', '/Patient', { body: newPatient('Versioned') })).body;
    const v1 = String(created.meta.versionId);

    const updated = await fhir('PUT', `/Patient/${String(created.id)}`, {
      body: { ...created, gender: 'female' },
      headers: { 'if-match': `W/"${v1}"` },
    });
    expect(updated.status).toBe(200);
    const v2 = String(updated.body.meta.versionId);
    expect([v1, v2]).toEqual(['1', '2']);
    expect(updated.headers.get('etag')).toBe(`W/"${v2}"`);

    const stale = await fhir('PUT', `/Patient/${String(created.id)}`, {
      body: { ...created, gender: 'male' },
      headers: { 'if-match': `W/"${v1}"` },
    });
    expectOutcome(stale, 412);
    expect((await fhir('GET', `/Patient/${String(created.id)}`)).body.gender).toBe('female');

    const old = await fhir('GET', `/Patient/${String(created.id)}/_history/${v1}`);
    expect(old.status).toBe(200);
    expect(old.body.gender).toBeUndefined();
    const history = await fhir('GET', `/Patient/${String(created.id)}/_history`);
    expect(history.body).toMatchObject({ resourceType: 'Bundle', type: 'history', total: 2 });
    expect(history.body.entry.map((e: any) => e.resource.meta.versionId)).toEqual([v2, v1]);
    expect(history.body.entry[0].fullUrl).toBe(`${base}/Patient/${String(created.id)}`);
    expect(history.body.entry.map((e: any) => e.request.method)).toEqual(['PUT', 'POST']);
    const again = await fhir('GET', `/Patient/${String(created.id)}/_history`);
    expect(again.body.entry.map((e: any) => e.resource.meta.versionId)).toEqual([v2, v1]);
  });

  it('refuses update-as-create (PUT to an unknown id) with 404', async () => {
    expectOutcome(
      await fhir('PUT', '/Patient/never-created', { body: newPatient('Nobody', { id: 'never-created' }) }),
      404,
    );
  });

  it('deletes; the resource then reads as 410 Gone', async () => {
    const created = (await fhir('POST', '/Patient', { body: newPatient('Deleted') })).body;
    expect((await fhir('DELETE', `/Patient/${String(created.id)}`)).status).toBe(200);
    expectOutcome(await fhir('GET', `/Patient/${String(created.id)}`), 410);
  });
});

describe('validation: what a real EHR rejects', () => {
  it.each([
    ['an invalid birthDate', newPatient('Bad', { birthDate: 'not-a-date' }), 'Patient.birthDate'],
    ['an unknown element', newPatient('Bad', { favouriteColour: 'blue' }), 'Patient.favouriteColour'],
    ['an invalid code', newPatient('Bad', { gender: 'robot' }), 'Patient.gender'],
    [
      'an invalid nested code',
      newPatient('Bad', { telecom: [{ system: 'telephone', value: '1' }] }),
      'Patient.telecom[0].system',
    ],
  ])(
    'refuses a Patient with %s: 400 OperationOutcome naming the element',
    async (_label, body, expression) => {
      const answer = await fhir('POST', '/Patient', { body });
      expectOutcome(answer, 400);
      expect(answer.body.issue.flatMap((i: any) => i.expression ?? [])).toContain(expression);
    },
  );

  it('refuses an appointment status outside the R4 value set (a classic mapping slip)', async () => {
    const appointment = (await fhir('GET', '/Appointment?status=booked&_count=1')).body.entry[0].resource;
    const answer = await fhir('PUT', `/Appointment/${String(appointment.id)}`, {
      body: { ...appointment, status: 'canceled' },
    });
    expectOutcome(answer, 400);
    expect(answer.body.issue[0].expression).toEqual(['Appointment.status']);
  });

  it('refuses a required element missing on update too', async () => {
    const slot = (await fhir('GET', '/Slot?_count=1')).body.entry[0].resource;
    const { start: _start, ...withoutStart } = slot;
    expectOutcome(await fhir('PUT', `/Slot/${String(slot.id)}`, { body: withoutStart }), 400);
  });

  it('refuses a reference to a resource that does not exist', async () => {
    const answer = await fhir('POST', '/Patient', {
      body: newPatient('Dangling', { generalPractitioner: [{ reference: 'Practitioner/nobody' }] }),
    });
    expectOutcome(answer, 400);
    expect(answer.body.issue[0].expression).toEqual(['Patient.generalPractitioner[0]']);
  });

  it('refuses malformed JSON, a wrong content type and a type/URL mismatch', async () => {
    expectOutcome(await fhir('POST', '/Patient', { body: '{"resourceType": "Pat' }), 400);
    expectOutcome(await fhir('POST', '/Patient', { body: 'hello', contentType: 'text/plain' }), 415);
    expectOutcome(await fhir('POST', '/Patient', { body: { resourceType: 'Practitioner' } }), 400);
  });

  it('refuses resource types the server does not support', async () => {
    expectOutcome(await fhir('GET', '/Observation?code=1234'), 400);
  });
});

describe('string search semantics', () => {
  it('matches the start of a name, ignoring case and accents; :exact and :contains as in FHIR', async () => {
    await fhir('POST', '/Patient', { body: newPatient('Goldsmith-Zedd') });
    await fhir('POST', '/Patient', { body: newPatient('Zéddington') });
    const families = async (query: string): Promise<string[]> =>
      ((await fhir('GET', `/Patient?${query}&_count=100`)).body.entry ?? []).map(
        (e: any) => e.resource.name[0].family,
      );

    expect(await families('family=zedd')).toEqual(['Zéddington']);
    expect(await families('family:contains=zedd')).toEqual(['Goldsmith-Zedd', 'Zéddington']);
    expect(await families('family:exact=Goldsmith-Zedd')).toEqual(['Goldsmith-Zedd']);
    expect(await families('family:exact=goldsmith-zedd')).toEqual([]);
  });
});

describe('conditional create (If-None-Exist)', () => {
  const identifier = (value: string): unknown => [{ system: 'urn:test:operation', value }];

  it('creates on no match (201), returns the existing resource on one match (200), 412 on several', async () => {
    const first = await fhir('POST', '/Patient', {
      body: newPatient('Conditional', { identifier: identifier('op-1') }),
      headers: { 'if-none-exist': 'identifier=urn:test:operation|op-1' },
    });
    expect(first.status).toBe(201);

    const again = await fhir('POST', '/Patient', {
      body: newPatient('Conditional', { identifier: identifier('op-1') }),
      headers: { 'if-none-exist': 'identifier=urn:test:operation|op-1' },
    });
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(first.body.id);
    expect((await fhir('GET', '/Patient?identifier=urn:test:operation|op-1')).body.total).toBe(1);

    await fhir('POST', '/Patient', { body: newPatient('Twin', { identifier: identifier('dup') }) });
    await fhir('POST', '/Patient', { body: newPatient('Twin', { identifier: identifier('dup') }) });
    const ambiguous = await fhir('POST', '/Patient', {
      body: newPatient('Twin', { identifier: identifier('dup') }),
      headers: { 'if-none-exist': 'identifier=urn:test:operation|dup' },
    });
    expectOutcome(ambiguous, 412);
  });

  it('refuses a condition on an unknown search parameter instead of creating a duplicate', async () => {
    const answer = await fhir('POST', '/Patient', {
      body: newPatient('Typo'),
      headers: { 'if-none-exist': 'identifer=urn:test:operation|x' },
    });
    expectOutcome(answer, 400);
  });
});

describe('PATCH (JSON Patch)', () => {
  it('applies a patch, honours If-Match (stale: 412) and validates the result', async () => {
    const created = (await fhir('POST', '/Patient', { body: newPatient('Patched') })).body;
    const path = `/Patient/${String(created.id)}`;
    const contentType = 'application/json-patch+json';

    const patched = await fhir('PATCH', path, {
      body: [
        { op: 'add', path: '/telecom', value: [{ system: 'phone', value: '617-555-0100', use: 'mobile' }] },
      ],
      contentType,
      headers: { 'if-match': `W/"${String(created.meta.versionId)}"` },
    });
    expect(patched.status).toBe(200);
    expect(patched.body.telecom[0].value).toBe('617-555-0100');

    const stale = await fhir('PATCH', path, {
      body: [{ op: 'add', path: '/gender', value: 'male' }],
      contentType,
      headers: { 'if-match': `W/"${String(created.meta.versionId)}"` },
    });
    expectOutcome(stale, 412);

    expectOutcome(
      await fhir('PATCH', path, { body: [{ op: 'add', path: '/birthDate', value: 'soon' }], contentType }),
      400,
    );
    expectOutcome(await fhir('PATCH', path, { body: [{ op: 'add', path: '/gender', value: 'male' }] }), 415);
  });
});

describe('batch and transaction (POST /)', () => {
  it('runs a transaction atomically, resolving urn:uuid references', async () => {
    const answer = await fhir('POST', '', {
      body: {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          {
            fullUrl: 'urn:uuid:5f3c0d8e-2b7a-4c1e-9d4f-6a8b0c2e4f61',
            resource: newPatient('TransactionPatient'),
            request: { method: 'POST', url: 'Patient' },
          },
          {
            resource: {
              resourceType: 'Task',
              status: 'requested',
              intent: 'order',
              for: { reference: 'urn:uuid:5f3c0d8e-2b7a-4c1e-9d4f-6a8b0c2e4f61' },
            },
            request: { method: 'POST', url: 'Task' },
          },
        ],
      },
    });
    expect(answer.status).toBe(200);
    expect(answer.body.type).toBe('transaction-response');
    const [patientEntry, taskEntry] = answer.body.entry;
    expect(patientEntry.response.status).toBe('201');
    expect(patientEntry.fullUrl).toBe(`${base}/Patient/${String(patientEntry.resource.id)}`);
    expect(taskEntry.resource.for.reference).toBe(`Patient/${String(patientEntry.resource.id)}`);
  });

  it('writes nothing when one transaction entry fails', async () => {
    const answer = await fhir('POST', '', {
      body: {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          { resource: newPatient('AllOrNothing'), request: { method: 'POST', url: 'Patient' } },
          {
            resource: newPatient('AllOrNothing', { birthDate: 'bad' }),
            request: { method: 'POST', url: 'Patient' },
          },
        ],
      },
    });
    expectOutcome(answer, 400);
    expect((await fhir('GET', '/Patient?family=AllOrNothing')).body.total).toBe(0);
  });

  it('runs a batch entry by entry, reporting each outcome', async () => {
    const answer = await fhir('POST', '', {
      body: {
        resourceType: 'Bundle',
        type: 'batch',
        entry: [
          { resource: newPatient('BatchGood'), request: { method: 'POST', url: 'Patient' } },
          {
            resource: newPatient('BatchBad', { birthDate: 'bad' }),
            request: { method: 'POST', url: 'Patient' },
          },
          { request: { method: 'GET', url: 'Patient/pat-0002' } },
        ],
      },
    });
    expect(answer.status).toBe(200);
    expect(answer.body.entry.map((e: any) => e.response.status)).toEqual(['201', '400', '200']);
  });
});

describe('serialised writes', () => {
  it('lets only one of many concurrent identical conditional creates create', async () => {
    const attempts = await Promise.all(
      Array.from({ length: 8 }, () =>
        fhir('POST', '/Patient', {
          body: newPatient('Race', { identifier: [{ system: 'urn:test:race', value: 'r1' }] }),
          headers: { 'if-none-exist': 'identifier=urn:test:race|r1' },
        }),
      ),
    );
    expect(attempts.map((a) => a.status).sort()).toEqual([200, 200, 200, 200, 200, 200, 200, 201]);
    expect(new Set(attempts.map((a) => a.body.id)).size).toBe(1);
  });
});

describe('stats', () => {
  it('counts resources by type', () => {
    const stats = sandbox.stats();
    expect(stats.Patient).toBeGreaterThanOrEqual(200);
    expect(stats.Slot).toBeGreaterThan(0);
  });
});

describe('close', () => {
  it('answers 503 once the sandbox is closed', async () => {
    const closing = await createSandboxEhr({ today: TODAY, patientCount: 5 });
    const app = express();
    app.use('/fhir', closing.router);
    const closingServer = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => closingServer.once('listening', resolve));
    const url = `http://127.0.0.1:${String((closingServer.address() as AddressInfo).port)}/fhir/Patient/pat-0001`;
    try {
      expect((await fetch(url)).status).toBe(200);
      await closing.close();
      const answer = await fetch(url);
      expect(answer.status).toBe(503);
      expect(((await answer.json()) as any).resourceType).toBe('OperationOutcome');
    } finally {
      await new Promise((resolve) => closingServer.close(resolve));
    }
  });
});
