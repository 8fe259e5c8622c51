/**
 * The queue dashboard at /admin/queues: an operator signs in with Basic (client id and key, as a
 * browser asks for them), sees the queues of their own tenant only, sees a queued write as its
 * operation id and nothing of its content, and cannot act on jobs behind the pipeline's back.
 */
import { request as httpRequest } from 'node:http';
import request from 'supertest';
import { SCOPES } from '../../src/domain/access';
import { basicHeader, createClient, type TestClient } from '../support/client-credentials';
import { startInProcessApi, type InProcessApi } from '../support/in-process-api';
import { twoTenantConfig } from '../support/two-tenants';

const CONFIG = twoTenantConfig();
const CANARY = { email: 'qqdashcanary@canary-mail.example', phone: '+1 351 555 0177' };

let api: InProcessApi;
let admin: TestClient;
let south: TestClient;
let reader: TestClient;
let operationId: string;

beforeAll(async () => {
  api = await startInProcessApi({ overrides: CONFIG });
  admin = await createClient(api.access, 'ops-default', 'default', SCOPES);
  south = await createClient(api.access, 'ops-south', 'south', SCOPES);
  reader = await createClient(api.access, 'reader-default', 'default', ['operations:read']);
  // No workers run here: the write stays queued, a job in the sandbox's write queue.
  const accepted = await api
    .request()
    .patch('/v1/patients/pat-0001')
    .send({ phones: [CANARY.phone], email: CANARY.email });
  expect(accepted.status).toBe(202);
  operationId = (accepted.body as { operationId: string }).operationId;
});
afterAll(async () => {
  await api.stop();
});

interface BoardQueue {
  readonly name: string;
  readonly displayName?: string;
  readonly jobs: readonly { readonly id: string; readonly data: unknown }[];
}

async function board(
  client: TestClient,
  query = '',
): Promise<{ status: number; text: string; queues: BoardQueue[] }> {
  const res = await request(api.url)
    .get(`/admin/queues/api/queues${query}`)
    .set('authorization', basicHeader(client.id, client.key));
  const body = res.body as { queues?: BoardQueue[] };
  return { status: res.status, text: res.text, queues: body.queues ?? [] };
}

it('serves the board page to an operator signed in with Basic, as a page that loads nothing from elsewhere', async () => {
  const page = await request(api.url)
    .get('/admin/queues')
    .set('authorization', basicHeader(admin.id, admin.key));
  expect(page.status).toBe(200);
  expect(page.headers['content-type']).toMatch(/text\/html/);
  expect(page.text).toContain('<base href="/admin/queues/"');
  const csp = page.headers['content-security-policy'] as string;
  expect(csp).toContain("script-src 'self'");
  expect(csp).toContain("connect-src 'self'");
  expect(csp).not.toMatch(/https?:/);
  expect(page.headers['cache-control']).toBe('no-store');

  // The UI's own assets come from the gateway.
  const script = /src="(static\/js\/main[^"]+)"/.exec(page.text)?.[1];
  expect(script).toBeDefined();
  const asset = await request(api.url)
    .get(`/admin/queues/${script ?? ''}`)
    .set('authorization', basicHeader(admin.id, admin.key));
  expect(asset.status).toBe(200);
});

/** The WWW-Authenticate lines of an anonymous request, as a browser reads them: one by one. */
function challengeLines(method: string, path: string): Promise<string[]> {
  return new Promise((resolveLines, reject) => {
    httpRequest(`${api.url}${path}`, { method }, (res) => {
      res.resume();
      resolveLines(
        res.rawHeaders.filter((_, i, all) => i % 2 === 1 && all[i - 1]?.toLowerCase() === 'www-authenticate'),
      );
    })
      .on('error', reject)
      .end();
  });
}

it('asks a browser for Basic credentials, and refuses a client without operations:admin', async () => {
  const anonymous = await request(api.url).get('/admin/queues');
  expect(anonymous.status).toBe(401);
  // On a line of its own: a browser reads only the first challenge of a line, and skips Bearer.
  const lines = await challengeLines('GET', '/admin/queues/api/queues');
  expect(lines.filter((line) => line.startsWith('Basic realm="continuum queues"'))).toHaveLength(1);

  const readOnly = await board(reader);
  expect(readOnly.status).toBe(403);
  expect(readOnly.queues).toEqual([]);
});

it("asks a browser for credentials nowhere else: a sign-in kept for the board is not replayed on another site's form", async () => {
  for (const [method, path] of [
    ['POST', '/v1/operations/replay'],
    ['POST', '/v1/patients'],
    ['GET', '/v1/status'],
    ['GET', '/admin'],
  ] as const) {
    const lines = await challengeLines(method, path);
    expect(lines).toHaveLength(1);
    // Bearer first on the one line: a browser does not ask, and does not answer with kept credentials.
    expect(lines[0]).toMatch(/^Bearer realm="continuum"/);
    expect(lines[0]).not.toContain('continuum queues');
  }
});

it("shows a tenant its own connections' and subscribers' queues, and no other tenant's", async () => {
  const own = await board(admin);
  expect(own.status).toBe(200);
  expect(own.queues.map((q) => q.name).sort()).toEqual(['events-desk-default', 'writes-sandbox']);

  const theirs = await board(south);
  expect(theirs.status).toBe(200);
  expect(theirs.queues.map((q) => q.name).sort()).toEqual(['events-desk-south', 'writes-other']);
  expect(theirs.text).not.toContain(operationId);
});

it('shows a queued write as its operation id, with none of what it changes', async () => {
  // Every write job has a priority (its urgency), so a queued one is listed as prioritized.
  const own = await board(admin, '?activeQueue=writes-sandbox&status=prioritized&page=1&jobsPerPage=50');
  const writes = own.queues.find((q) => q.name === 'writes-sandbox');
  expect(writes?.jobs.map((j) => j.data)).toContainEqual({ operationId });
  for (const value of [CANARY.email, '5550177', '555 0177', 'pat-0001'])
    expect(own.text).not.toContain(value);

  const job = writes?.jobs.find((j) => (j.data as { operationId?: string }).operationId === operationId);
  const detail = await request(api.url)
    .get(`/admin/queues/api/queues/writes-sandbox/${encodeURIComponent(job?.id ?? 'none')}`)
    .set('authorization', basicHeader(admin.id, admin.key));
  expect(detail.status).toBe(200);
  expect(detail.text).toContain(operationId);
  expect(detail.text).not.toContain(CANARY.email);
});

it('takes no action on jobs: the board is read-only, and the write stays queued', async () => {
  for (const [method, path] of [
    ['put', '/admin/queues/api/queues/writes-sandbox/empty'],
    ['put', '/admin/queues/api/queues/writes-sandbox/pause'],
    ['delete', '/admin/queues/api/queues/writes-sandbox/obliterate'],
    ['post', '/admin/queues/api/queues/writes-sandbox/add'],
  ] as const) {
    const res = await request(api.url)[method](path).set('authorization', basicHeader(admin.id, admin.key));
    expect([404, 405]).toContain(res.status);
  }
  const redisInfo = await request(api.url)
    .get('/admin/queues/api/redis/stats')
    .set('authorization', basicHeader(admin.id, admin.key));
  expect(redisInfo.status).toBe(404);
  expect(redisInfo.text).not.toMatch(/redis_version|used_memory/);
  const receipt = await api.request().get(`/v1/operations/${operationId}`);
  expect((receipt.body as { status: string }).status).toBe('queued');
  const own = await board(admin, '?activeQueue=writes-sandbox&status=prioritized&page=1&jobsPerPage=50');
  expect(own.queues.find((q) => q.name === 'writes-sandbox')?.jobs.map((j) => j.data)).toContainEqual({
    operationId,
  });
});
