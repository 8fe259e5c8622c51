/**
 * The sandbox EHR's fault switch over real HTTP: every mode as a FHIR client meets it, the admin API that no
 * fault reaches, and the property the gateway's exactly-once writes rest on: a write whose answer is lost
 * after commit is stored all the same.
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { createSandboxEhr, startSandboxServer, type SandboxServer } from '../../adapters/ehr/sandbox';
import { createApp } from '../../src/http/app';
import { createLogger } from '../../src/observability/logger';
import { captureLogs } from '../support/log-capture';
import { forgetCredential, useCredential } from '../support/credentials';
import { startTestAccess } from '../support/test-access';
import { http } from '../support/http';
import { waitFor } from '../support/wait-for';

const TODAY = new Date('2026-03-02T12:00:00Z');
const FHIR_JSON = 'application/fhir+json';
const ID_SYSTEM = 'urn:continuum:test:operation';

let server: SandboxServer;
let admin: string;

beforeAll(async () => {
  server = await startSandboxServer({ port: 0, today: TODAY, patientCount: 30 });
  admin = `${new URL(server.url).origin}/sandbox/admin/faults`;
});

afterAll(async () => {
  await server.close();
});

afterEach(() => {
  server.faults.reset();
});

/** What a FHIR client sees: an HTTP answer, or the connection-level error fetch rejects with. */
type Seen = { status: number; headers: Headers; body: any } | { error: string; code: string | undefined };

async function fhir(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const sent: Record<string, string> = { accept: FHIR_JSON, ...headers };
  if (body !== undefined) sent['content-type'] = FHIR_JSON;
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers: sent,
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
}

async function seen(method: string, path: string, body?: unknown): Promise<Seen> {
  try {
    return await fhir(method, path, body);
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause;
    return { error: (error as Error).message, code: cause?.code };
  }
}

function patient(value: string): Record<string, unknown> {
  return {
    resourceType: 'Patient',
    identifier: [{ system: ID_SYSTEM, value }],
    name: [{ family: 'Faultline', given: ['Test'] }],
  };
}

async function countByIdentifier(value: string): Promise<number> {
  const answer = await fhir('GET', `/Patient?identifier=${encodeURIComponent(`${ID_SYSTEM}|${value}`)}`);
  expect(answer.status).toBe(200);
  return answer.body.total as number;
}

async function setFaults(mode: Record<string, unknown>): Promise<any> {
  const answer = await http('POST', admin, { body: mode });
  expect(answer.status).toBe(200);
  return answer.body;
}

describe('admin API', () => {
  it('reports up with zero counters at first, and counts requests', async () => {
    const state = await http('GET', admin);
    expect(state.status).toBe(200);
    expect(state.body).toMatchObject({ mode: { mode: 'up' }, expiresAt: null });
    await fhir('GET', '/metadata');
    expect((await http('GET', admin)).body.counters.seen).toBeGreaterThanOrEqual(1);
  });

  it('answers bad input with 400 problem+json naming the field, and keeps the current mode', async () => {
    await setFaults({ mode: 'slow', latencyMs: 1 });
    const cases: [unknown, string, string][] = [
      [{ mode: 'flaky', failureRate: 2 }, 'failureRate', 'VALIDATION'],
      [{ mode: 'off' }, 'mode', 'VALIDATION'],
      [{ mode: 'slow' }, 'latencyMs', 'VALIDATION'],
      [{ mode: 'down', kind: 'refuse', retryAfterSeconds: 5 }, 'retryAfterSeconds', 'VALIDATION'],
      [{ mode: 'down', wat: true }, 'wat', 'VALIDATION'],
      [{ mode: 'down', durationMs: 1000, untilMs: Date.now() + 5000 }, 'durationMs', 'VALIDATION'],
      [{ mode: 'down', untilMs: Date.now() - 5000 }, 'untilMs', 'VALIDATION'],
      [['down'], '(body)', 'VALIDATION'],
    ];
    for (const [body, field, code] of cases) {
      const answer = await http('POST', admin, { body });
      expect({ body, status: answer.status }).toEqual({ body, status: 400 });
      expect(answer.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(answer.body).toMatchObject({ status: 400, code, retryable: false });
      expect(answer.body.errors.map((e: { field: string }) => e.field)).toContain(field);
    }

    const malformed = await http('POST', admin, {
      raw: '{"mode":',
      headers: { 'content-type': 'application/json' },
    });
    expect(malformed.status).toBe(400);
    expect(malformed.body).toMatchObject({ code: 'MALFORMED_BODY' });

    const put = await http('PUT', admin, { body: { mode: 'up' } });
    expect(put.status).toBe(405);
    expect(put.headers.get('allow')).toBe('GET, POST, DELETE');

    expect((await http('GET', admin)).body.mode).toEqual({
      mode: 'slow',
      latencyMs: 1,
      jitterMs: 0,
      seed: expect.any(Number),
    });
  });

  it('reads any content type as JSON, so a bare `curl -d` works', async () => {
    const answer = await http('POST', admin, {
      raw: '{"mode":"down","kind":"http503"}',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(answer.status).toBe(200);
    expect(answer.body.mode).toEqual({ mode: 'down', kind: 'http503' });
  });

  it('resets with DELETE and with POST {mode: up}, keeping the ended period as previous', async () => {
    await setFaults({ mode: 'down', kind: 'http503' });
    await fhir('GET', '/metadata');
    const deleted = await http('DELETE', admin);
    expect(deleted.status).toBe(200);
    expect(deleted.body).toMatchObject({
      mode: { mode: 'up' },
      previous: { mode: { mode: 'down' }, ended: 'replaced', counters: { seen: 1, failed: 1 } },
    });
    await setFaults({ mode: 'down', kind: 'http503' });
    expect((await setFaults({ mode: 'up' })).mode).toEqual({ mode: 'up' });
    expect((await fhir('GET', '/metadata')).status).toBe(200);
  });
});

describe('down', () => {
  it('refuse: FHIR calls, /metadata included, fail at the connection level and store nothing', async () => {
    await setFaults({ mode: 'down' });
    const metadata = await seen('GET', '/metadata');
    expect(metadata).toEqual({ error: 'fetch failed', code: 'ECONNRESET' });
    expect(await seen('GET', '/Patient/pat-0001')).toMatchObject({ error: 'fetch failed' });
    expect(await seen('POST', '/Patient', patient('refused-1'))).toMatchObject({ error: 'fetch failed' });

    // The admin API is not behind the switch.
    const state = await http('GET', admin);
    expect(state.status).toBe(200);
    expect(state.body.counters).toEqual({ seen: 3, passed: 0, delayed: 0, failed: 3, failedAfterCommit: 0 });
    expect((await http('DELETE', admin)).status).toBe(200);

    expect((await fhir('GET', '/metadata')).status).toBe(200);
    expect(await countByIdentifier('refused-1')).toBe(0);
  });

  it('http503: a transient OperationOutcome, with Retry-After when asked for', async () => {
    await setFaults({ mode: 'down', kind: 'http503', retryAfterSeconds: 30 });
    for (const [method, path, body] of [
      ['GET', '/metadata', undefined],
      ['GET', '/Patient?family=Smith', undefined],
      ['POST', '/Patient', patient('503-1')],
    ] as const) {
      const answer = await fhir(method, path, body);
      expect(answer.status).toBe(503);
      expect(answer.headers.get('retry-after')).toBe('30');
      expect(answer.headers.get('content-type')).toMatch(/^application\/fhir\+json/);
      expect(answer.body).toMatchObject({
        resourceType: 'OperationOutcome',
        issue: [{ severity: 'error', code: 'transient' }],
      });
    }
    await setFaults({ mode: 'down', kind: 'http503' });
    const plain = await fhir('GET', '/metadata');
    expect(plain.status).toBe(503);
    expect(plain.headers.get('retry-after')).toBeNull();
    server.faults.reset();
    expect(await countByIdentifier('503-1')).toBe(0);
  });

  it('paths limit the outage to the named resource types', async () => {
    await setFaults({ mode: 'down', kind: 'refuse', paths: ['Patient'] });
    expect(await seen('GET', '/Patient/pat-0001')).toMatchObject({ error: 'fetch failed' });
    expect(await seen('GET', '/Patient?family=Smith')).toMatchObject({ error: 'fetch failed' });
    expect((await fhir('GET', '/metadata')).status).toBe(200);
    expect((await fhir('GET', '/Practitioner?_count=1')).status).toBe(200);
  });

  it('durationMs: the sandbox comes back up by itself', async () => {
    const started = performance.now();
    await setFaults({ mode: 'down', kind: 'http503', durationMs: 300 });
    expect((await fhir('GET', '/metadata')).status).toBe(503);
    await waitFor(async () => ((await fhir('GET', '/metadata')).status === 200 ? true : undefined), {
      timeoutMs: 5000,
      intervalMs: 25,
      what: 'the fault to expire',
    });
    expect(performance.now() - started).toBeGreaterThanOrEqual(250);
    const state = (await http('GET', admin)).body;
    expect(state).toMatchObject({
      mode: { mode: 'up' },
      previous: { ended: 'expired', mode: { mode: 'down' } },
    });
  });
});

describe('slow', () => {
  it('adds the latency before the request is handled, /metadata included', async () => {
    await setFaults({ mode: 'slow', latencyMs: 300 });
    for (const path of ['/metadata', '/Patient/pat-0001']) {
      const started = performance.now();
      const answer = await fhir('GET', path);
      expect(answer.status).toBe(200);
      expect(performance.now() - started).toBeGreaterThanOrEqual(250);
    }
    expect((await http('GET', admin)).body.counters).toMatchObject({ seen: 2, passed: 2, delayed: 2 });
  });
});

describe('flaky', () => {
  /** Sequential mixed traffic; the client's view of each request, in order. */
  async function traffic(
    tag: string,
    count: number,
  ): Promise<{ fates: string[]; posted: Map<string, string> }> {
    const fates: string[] = [];
    const posted = new Map<string, string>();
    for (let i = 0; i < count; i++) {
      let result: Seen;
      if (i % 2 === 0) {
        result = await seen('GET', `/Patient/pat-000${String((i % 9) + 1)}`);
      } else {
        const value = `${tag}-${String(i)}`;
        result = await seen('POST', '/Patient', patient(value));
        posted.set(value, 'status' in result ? String(result.status) : 'reset');
      }
      fates.push('status' in result ? String(result.status) : 'reset');
    }
    return { fates, posted };
  }

  it('with a fixed seed: repeatable fates, counters that add up, and lost answers whose writes are stored', async () => {
    const mode = { mode: 'flaky', failureRate: 0.5, afterCommitRate: 0.5, seed: 20260302 };
    await setFaults(mode);
    const first = await traffic('flaky-a', 40);
    const counters = (await http('GET', admin)).body.counters;
    await setFaults(mode);
    const second = await traffic('flaky-b', 40);
    server.faults.reset();

    expect(second.fates).toEqual(first.fates);
    const count = (fate: string): number => first.fates.filter((f) => f === fate).length;
    const ok = first.fates.filter((f) => f === '200' || f === '201').length;
    // Before the handler, flaky answers 503 by default; after commit it drops the connection.
    expect(counters).toEqual({
      seen: 40,
      passed: ok,
      delayed: 0,
      failed: count('503'),
      failedAfterCommit: count('reset'),
    });
    expect(ok + count('503') + count('reset')).toBe(40);
    expect(count('503')).toBeGreaterThan(0);
    expect(count('reset')).toBeGreaterThan(0);

    for (const [value, fate] of first.posted) {
      const expected = fate === '201' || fate === 'reset' ? 1 : 0;
      expect({ value, fate, stored: await countByIdentifier(value) }).toEqual({
        value,
        fate,
        stored: expected,
      });
    }
  });

  it('afterCommitRate 1, reset: POST /Patient fails for the client, yet the patient is stored; a conditional retry finds it', async () => {
    await setFaults({ mode: 'flaky', failureRate: 1, afterCommitRate: 1, seed: 1 });
    const lost = await seen('POST', '/Patient', patient('lost-reset'));
    expect(lost).toMatchObject({ error: 'fetch failed' });
    const read = await seen('GET', '/Patient/pat-0001');
    expect(read).toMatchObject({ status: 503 });
    expect((await http('GET', admin)).body.counters).toMatchObject({
      seen: 2,
      failed: 1,
      failedAfterCommit: 1,
    });
    await http('DELETE', admin);

    expect(await countByIdentifier('lost-reset')).toBe(1);
    // The gateway's recovery: a conditional create on the same business identifier does not duplicate.
    const retry = await fhir('POST', '/Patient', patient('lost-reset'), {
      'if-none-exist': `identifier=${ID_SYSTEM}|lost-reset`,
    });
    expect(retry.status).toBe(200);
    expect(await countByIdentifier('lost-reset')).toBe(1);
  });

  it('afterCommitMode http500: a 500 OperationOutcome replaces the real answer, its headers dropped', async () => {
    server.faults.set({
      mode: 'flaky',
      failureRate: 1,
      afterCommitRate: 1,
      afterCommitMode: 'http500',
      seed: 1,
    });
    const answer = await fhir('POST', '/Patient', patient('lost-500'));
    expect(answer.status).toBe(500);
    expect(answer.body).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ code: 'exception' }] });
    expect(answer.headers.get('location')).toBeNull();
    expect(answer.headers.get('etag')).toBeNull();
    server.faults.reset();
    expect(await countByIdentifier('lost-500')).toBe(1);
  });

  it('a lost answer to an update still bumps the version', async () => {
    const current = await fhir('GET', '/Patient/pat-0002');
    const version = current.body.meta.versionId as string;
    server.faults.set({ mode: 'flaky', failureRate: 1, afterCommitRate: 1, seed: 1, paths: ['Patient'] });
    const updated = { ...current.body, gender: current.body.gender === 'female' ? 'male' : 'female' };
    expect(await seen('PUT', '/Patient/pat-0002', updated)).toMatchObject({ error: 'fetch failed' });
    server.faults.reset();
    const after = await fhir('GET', '/Patient/pat-0002');
    expect(after.body.meta.versionId).not.toBe(version);
    expect(after.body.gender).toBe(updated.gender);
  });

  it('a write the handler refuses (4xx) commits nothing and counts as failed, not after commit', async () => {
    server.faults.set({ mode: 'flaky', failureRate: 1, afterCommitRate: 1, seed: 1 });
    expect(await seen('POST', '/Patient', { resourceType: 'Patient', gender: 'sometimes' })).toMatchObject({
      error: 'fetch failed',
    });
    expect(server.faults.get().counters).toMatchObject({ seen: 1, failed: 1, failedAfterCommit: 0 });
  });
});

describe('programmatic control', () => {
  it('sandbox.faults.set/get/reset drive the same switch the admin API shows', async () => {
    const state = server.faults.set({ mode: 'down', kind: 'http503', durationMs: 60_000 });
    expect(state.expiresAt).not.toBeNull();
    expect((await fhir('GET', '/metadata')).status).toBe(503);
    expect((await http('GET', admin)).body.mode).toEqual({
      mode: 'down',
      kind: 'http503',
      durationMs: 60_000,
    });
    expect(server.faults.reset().mode).toEqual({ mode: 'up' });
    expect((await fhir('GET', '/metadata')).status).toBe(200);
  });
});

describe('in the gateway app', () => {
  it('mounts the admin API at /sandbox/admin next to /sandbox/fhir; the gateway answers while the EHR is down', async () => {
    const logs = captureLogs();
    const logger = createLogger({ level: 'info', destination: logs.stream });
    const sandbox = await createSandboxEhr({
      today: TODAY,
      patientCount: 10,
      logger: logger.child({ component: 'sandbox' }),
      faults: { mode: 'down' },
    });
    const auth = await startTestAccess(logger);
    const app = createApp({
      logger,
      access: auth.access,
      bodyLimitBytes: 100_000,
      sandboxRouter: sandbox.router,
      sandboxAdminRouter: sandbox.adminRouter,
      health: {
        isShuttingDown: () => false,
        redis: () => Promise.resolve(true),
        ehr: () => Promise.resolve({}),
      },
    });
    const gateway: Server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => gateway.once('listening', resolve));
    const base = `http://127.0.0.1:${String((gateway.address() as AddressInfo).port)}`;
    useCredential(base, auth.key);
    try {
      // Without the credential the gateway itself answers 401: access control sits before the sandbox.
      expect((await http('GET', `${base}/sandbox/fhir/metadata`, { anonymous: true })).status).toBe(401);
      await expect(
        fetch(`${base}/sandbox/fhir/metadata`, { headers: { authorization: `Bearer ${auth.key}` } }),
      ).rejects.toThrow('fetch failed');
      expect((await http('GET', `${base}/healthz`)).status).toBe(200);

      const bad = await http('POST', `${base}/sandbox/admin/faults`, {
        body: { mode: 'slow', latencyMs: 'x' },
      });
      expect(bad.status).toBe(400);
      expect(bad.body.requestId).toBe(bad.headers.get('x-request-id'));
      expect(bad.body.errors).toEqual([{ field: 'latencyMs', message: expect.any(String) }]);

      const up = await http('DELETE', `${base}/sandbox/admin/faults`);
      expect(up.body.mode).toEqual({ mode: 'up' });
      expect((await http('GET', `${base}/sandbox/fhir/metadata`)).status).toBe(200);

      const changes = logs.lines().filter((l) => l.msg === 'sandbox EHR fault mode changed');
      expect(changes.map((l) => (l.faultMode as { mode: string }).mode)).toEqual(['down', 'up']);
      expect(changes[1]).toMatchObject({
        component: 'sandbox',
        previousMode: 'down',
        previousCounters: { failed: 1 },
      });
    } finally {
      await new Promise((resolve) => {
        gateway.close(resolve);
        gateway.closeAllConnections();
      });
      forgetCredential(base);
      await sandbox.close();
      await auth.stop();
    }
  });
});
