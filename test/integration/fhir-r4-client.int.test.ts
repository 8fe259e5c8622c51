/**
 * The generic FHIR R4 adapter against a local stand-in server that records what it receives:
 * credentials, conditional headers, deadlines, and `next` links it must not follow off-origin.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { freePort } from '../support/child-gateway';
import { createFhirR4Client } from '../../adapters/ehr/fhir-r4/fhir-r4-client';
import { ContinuumError } from '../../src/domain/errors';
import type { Patient } from '../../src/domain/fhir';

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
}

let server: Server;
let base: string;
const seen: Seen[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    const send = (status: number, body: unknown, headers: Record<string, string> = {}): void => {
      res.writeHead(status, { 'content-type': 'application/fhir+json', ...headers });
      res.end(JSON.stringify(body));
    };
    const url = req.url ?? '';
    if (url.startsWith('/slow')) {
      setTimeout(() => send(200, {}), 2000).unref();
      return;
    }
    if (url.startsWith('/Patient?')) {
      const page = url.includes('page=2') ? 2 : 1;
      const next =
        page === 1
          ? url.includes('foreign')
            ? 'http://198.51.100.7/Patient?page=2'
            : `${base}/Patient?page=2`
          : undefined;
      send(200, {
        resourceType: 'Bundle',
        type: 'searchset',
        entry: [{ resource: { resourceType: 'Patient', id: `p${page}` }, search: { mode: 'match' } }],
        link: next ? [{ relation: 'next', url: next }] : [],
      });
      return;
    }
    if (req.method === 'POST') {
      send(200, { resourceType: 'Patient', id: 'existing', meta: { versionId: '4' } });
      return;
    }
    if (req.method === 'PUT') {
      send(200, { resourceType: 'Patient', id: 'p1' }, { etag: 'W/"8"' });
      return;
    }
    send(200, { resourceType: 'Patient', id: 'p1', meta: { versionId: '7' } });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

const last = (): Seen => seen[seen.length - 1]!;

it('reuses pooled connections across calls instead of opening one per request', async () => {
  let connections = 0;
  const count = (): void => {
    connections++;
  };
  server.on('connection', count);
  try {
    const client = createFhirR4Client({
      connection: 'x',
      baseUrl: base,
      auth: { type: 'none' },
      defaultDeadlineMs: 1000,
    });
    for (let i = 0; i < 30; i++) await client.read('Patient', 'p1');
    await client.update({ resourceType: 'Patient', id: 'p1' }, { ifMatchVersion: '7' });
    // A socket can be returned to the pool a tick after its response resolves, so the next call
    // may open a second one; what matters is that 31 calls do not open 31 connections.
    expect(connections).toBeGreaterThanOrEqual(1);
    expect(connections).toBeLessThanOrEqual(2);
  } finally {
    server.off('connection', count);
  }
});

it('sends basic and bearer credentials, and none when configured so', async () => {
  await createFhirR4Client({
    connection: 'x',
    baseUrl: base,
    auth: { type: 'basic', username: 'u', password: 'p w' },
    defaultDeadlineMs: 1000,
  }).read('Patient', 'p1');
  expect(last().headers.authorization).toBe(`Basic ${Buffer.from('u:p w').toString('base64')}`);
  await createFhirR4Client({
    connection: 'x',
    baseUrl: base,
    auth: { type: 'bearer', token: 'tok' },
    defaultDeadlineMs: 1000,
  }).read('Patient', 'p1');
  expect(last().headers.authorization).toBe('Bearer tok');
  await createFhirR4Client({
    connection: 'x',
    baseUrl: base,
    auth: { type: 'none' },
    defaultDeadlineMs: 1000,
  }).read('Patient', 'p1');
  expect(last().headers.authorization).toBeUndefined();
  expect(last().headers.accept).toBe('application/fhir+json');
});

it('sends If-None-Exist on conditional creates and reports an existing match as not created', async () => {
  const client = createFhirR4Client({
    connection: 'x',
    baseUrl: base,
    auth: { type: 'none' },
    defaultDeadlineMs: 1000,
  });
  const result = await client.create<Patient>(
    { resourceType: 'Patient' },
    { ifNoneExist: 'identifier=urn:continuum:operation|op_1' },
  );
  expect(last().headers['if-none-exist']).toBe('identifier=urn:continuum:operation|op_1');
  expect(result.created).toBe(false);
  expect(result.resource.id).toBe('existing');
});

it('sends If-Match on updates and takes the new version from the ETag', async () => {
  const client = createFhirR4Client({
    connection: 'x',
    baseUrl: base,
    auth: { type: 'none' },
    defaultDeadlineMs: 1000,
  });
  const updated = await client.update<Patient>(
    { resourceType: 'Patient', id: 'p1' },
    { ifMatchVersion: '7' },
  );
  expect(last().method).toBe('PUT');
  expect(last().headers['if-match']).toBe('W/"7"');
  expect(updated.meta?.versionId).toBe('8');
});

it('puts every id in an EHR URL as one escaped path segment, and sends nothing for a dot segment', async () => {
  const client = createFhirR4Client({
    connection: 'x',
    baseUrl: base,
    auth: { type: 'none' },
    defaultDeadlineMs: 1000,
  });
  await client.read<Patient>('Patient', 'p1/_history/1?_format=xml#x');
  expect(last().url).toBe('/Patient/p1%2F_history%2F1%3F_format%3Dxml%23x');
  await client.readVersion<Patient>('Patient', 'p1/x', '2/../..');
  expect(last().url).toBe('/Patient/p1%2Fx/_history/2%2F..%2F..');
  await client.update<Patient>({ resourceType: 'Patient', id: 'a?b' });
  expect(last().url).toBe('/Patient/a%3Fb');
  await client.patch<Patient>('Patient', 'a#b', []);
  expect(last().url).toBe('/Patient/a%23b');

  const sent = seen.length;
  for (const id of ['.', '..']) {
    await expect(client.read<Patient>('Patient', id)).rejects.toMatchObject({ code: 'VALIDATION' });
    await expect(client.update<Patient>({ resourceType: 'Patient', id })).rejects.toMatchObject({
      code: 'VALIDATION',
    });
  }
  expect(seen.length).toBe(sent);
});

it('follows next links on the same origin only, up to maxPages', async () => {
  const client = createFhirR4Client({
    connection: 'x',
    baseUrl: base,
    auth: { type: 'bearer', token: 'secret' },
    defaultDeadlineMs: 1000,
  });
  expect((await client.search('Patient', { name: 'a' }, { maxPages: 5 })).map((p) => p.id)).toEqual([
    'p1',
    'p2',
  ]);
  expect((await client.search('Patient', { name: 'a' })).map((p) => p.id)).toEqual(['p1']);
  const before = seen.length;
  expect((await client.search('Patient', { name: 'foreign' }, { maxPages: 5 })).map((p) => p.id)).toEqual([
    'p1',
  ]);
  expect(seen.length).toBe(before + 1);
});

it('gives up at the deadline with a retryable EHR_UNAVAILABLE', async () => {
  const client = createFhirR4Client({
    connection: 'x',
    baseUrl: `${base}/slow`,
    auth: { type: 'none' },
    defaultDeadlineMs: 200,
  });
  const started = Date.now();
  const error = await client.read('Patient', 'p1').catch((e: unknown) => e);
  expect(error).toBeInstanceOf(ContinuumError);
  expect((error as ContinuumError).code).toBe('EHR_UNAVAILABLE');
  expect((error as ContinuumError).retryable).toBe(true);
  expect(Date.now() - started).toBeLessThan(1500);
});

it('reports a refused connection as EHR_UNAVAILABLE', async () => {
  const client = createFhirR4Client({
    connection: 'x',
    baseUrl: `http://127.0.0.1:${await freePort()}`,
    auth: { type: 'none' },
    defaultDeadlineMs: 1000,
  });
  await expect(client.capabilities()).rejects.toMatchObject({ code: 'EHR_UNAVAILABLE', retryable: true });
});
