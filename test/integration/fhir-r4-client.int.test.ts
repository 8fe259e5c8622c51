/**
 * The generic FHIR R4 adapter against a local stand-in server that records what it receives:
 * credentials, conditional headers, deadlines, and `next` links it must not follow off-origin.
 */
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
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
/** A second stand-in on another port: another origin, as a proxy's internal address would be. */
let other: Server;
let otherBase: string;
const seen: Seen[] = [];

/** Where page 1 of `/Patient?kind=...` says the next page is. */
function nextLink(kind: string | null): string {
  switch (kind) {
    case 'foreign':
      return 'http://198.51.100.7/Patient?page=2';
    case 'other':
      return `${otherBase}/Patient?page=2`;
    case 'relative':
      return 'Patient?page=2';
    case 'fail':
      return `${base}/Patient?page=2&fail=1`;
    case 'refused':
      return `${base}/Patient?page=2&fail=401`;
    default:
      return `${base}/Patient?page=2`;
  }
}

beforeAll(async () => {
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
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
      const query = new URL(url, 'http://x').searchParams;
      const fail = query.get('fail');
      if (fail === '401') {
        send(401, { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'login' }] });
        return;
      }
      if (fail !== null) {
        send(500, { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'exception' }] });
        return;
      }
      const page = Number(query.get('page') ?? '1');
      const endless = query.get('kind') === 'endless';
      const next = endless
        ? `${base}/Patient?kind=endless&page=${page + 1}`
        : page === 1
          ? nextLink(query.get('kind'))
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
  };
  const listen = async (s: Server): Promise<string> => {
    await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
    const address = s.address();
    return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  };
  server = createServer(handle);
  other = createServer(handle);
  base = await listen(server);
  otherBase = await listen(other);
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await new Promise((resolve) => other.close(resolve));
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

describe('searches answered in pages', () => {
  const client = (allowedPageOrigins: readonly string[] = []) =>
    createFhirR4Client({
      connection: 'x',
      baseUrl: base,
      auth: { type: 'bearer', token: 'secret' },
      defaultDeadlineMs: 1000,
      allowedPageOrigins,
    });
  const ids = (result: { matches: readonly Patient[] }): (string | undefined)[] =>
    result.matches.map((p) => p.id);

  it('follows next links on the base origin and relative ones, up to maxPages, and says when it stopped', async () => {
    const whole = await client().searchPages<Patient>('Patient', { name: 'a' }, { maxPages: 5 });
    expect(ids(whole)).toEqual(['p1', 'p2']);
    expect(whole.truncated).toBeUndefined();

    const relative = await client().searchPages<Patient>('Patient', { kind: 'relative' }, { maxPages: 5 });
    expect(ids(relative)).toEqual(['p1', 'p2']);
    expect(last().url).toBe('/Patient?page=2');
    expect(relative.truncated).toBeUndefined();

    const onePage = await client().searchPages<Patient>('Patient', { name: 'a' });
    expect(ids(onePage)).toEqual(['p1']);
    expect(onePage.truncated).toEqual({ reason: 'page-limit', pagesRead: 1 });
    expect((await client().search<Patient>('Patient', { name: 'a' })).map((p) => p.id)).toEqual(['p1']);

    const endless = await client().searchPages<Patient>('Patient', { kind: 'endless' }, { maxPages: 3 });
    expect(ids(endless)).toEqual(['p1', 'p2', 'p3']);
    expect(endless.truncated).toEqual({ reason: 'page-limit', pagesRead: 3 });
  });

  it('sends nothing to a next link on another origin unless the connection allows it, and says so', async () => {
    const before = seen.length;
    const foreign = await client().searchPages<Patient>('Patient', { kind: 'foreign' }, { maxPages: 5 });
    expect(ids(foreign)).toEqual(['p1']);
    expect(foreign.truncated).toEqual({ reason: 'next-link-origin', pagesRead: 1 });
    expect(seen.length).toBe(before + 1);

    // The same host on another port is another origin: not followed, its credentials not sent.
    const otherPort = await client().searchPages<Patient>('Patient', { kind: 'other' }, { maxPages: 5 });
    expect(ids(otherPort)).toEqual(['p1']);
    expect(otherPort.truncated).toEqual({ reason: 'next-link-origin', pagesRead: 1 });
    expect(seen.length).toBe(before + 2);

    const allowed = await client([otherBase]).searchPages<Patient>(
      'Patient',
      { kind: 'other' },
      { maxPages: 5 },
    );
    expect(ids(allowed)).toEqual(['p1', 'p2']);
    expect(allowed.truncated).toBeUndefined();
    expect(last()).toMatchObject({ url: '/Patient?page=2', headers: { authorization: 'Bearer secret' } });
  });

  it('keeps the pages read when a later page fails, marked truncated; a failing first page fails', async () => {
    const cut = await client().searchPages<Patient>('Patient', { kind: 'fail' }, { maxPages: 5 });
    expect(ids(cut)).toEqual(['p1']);
    expect(cut.truncated).toEqual({ reason: 'page-failed', pagesRead: 1 });
    await expect(client().searchPages<Patient>('Patient', { fail: '1' })).rejects.toBeInstanceOf(
      ContinuumError,
    );
  });

  it('fails the search when a later page refuses the credentials: the connection is out, not the list short', async () => {
    await expect(
      client().searchPages<Patient>('Patient', { kind: 'refused' }, { maxPages: 5 }),
    ).rejects.toMatchObject({ code: 'EHR_CREDENTIALS_REJECTED', extra: { ehrStatus: 401 } });
  });
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
