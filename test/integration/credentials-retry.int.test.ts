/**
 * Getting out of `credentials-rejected`: a reload of the credentials calls `retryCredentialsNow()`
 * and the backlog goes at once, without waiting for the periodic probe (an hour apart here); and the
 * state shared through Redis changes once per episode whatever the number of processes, with one
 * probe at a time, and a probe from an ended episode never ends the next one.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { createConnectionCredentials } from '../../adapters/redis/connection-credentials';
import type { CredentialsTransition } from '../../src/domain/connection-credentials';
import { ContinuumError } from '../../src/domain/errors';
import { createLogger } from '../../src/observability/logger';
import { http } from '../support/http';
import { captureLogs } from '../support/log-capture';
import { history, emailOf, receipt, setFaults, waitForFinal } from '../support/pipeline';
import { deletePrefix, TEST_REDIS_URL } from '../support/redis';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { waitFor } from '../support/wait-for';

jest.setTimeout(90000);

describe('retryCredentialsNow', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({
      overrides: {
        sandbox: { enabled: true, patientCount: 220 },
        connections: { sandbox: { maxWritesPerSecond: 0, credentialsProbeIntervalMs: 3_600_000 } },
      },
    });
  });
  afterAll(async () => {
    await setFaults(gw.url, { mode: 'up' }).catch(() => undefined);
    await gw.stop();
  });

  it('resumes a refused connection at once when the credentials are retried, and says how each retry went', async () => {
    expect(await gw.gateway.retryCredentialsNow()).toEqual({ sandbox: 'accepted' });
    const patient = 'pat-0150';
    const before = (await history(gw.fhirBase, `Patient/${patient}`)).length;

    await setFaults(gw.url, { mode: 'down', kind: 'http401' });
    const res = await http('PATCH', `${gw.url}/v1/patients/${patient}`, {
      body: { email: 'reloaded@example.org' },
    });
    expect(res.status).toBe(202);
    const operationId = res.body.operationId as string;
    await waitFor(
      async () => {
        const status = (await http('GET', `${gw.url}/v1/status`)).body.connections.sandbox;
        return status.state === 'credentials-rejected' ? true : undefined;
      },
      { what: 'the connection to be credentials-rejected' },
    );
    // Credentials "reloaded" but still wrong: still refused, nothing sent, nothing spent.
    expect(await gw.gateway.retryCredentialsNow('sandbox')).toEqual({ sandbox: 'still-rejected' });
    expect(await receipt(gw.url, operationId)).toMatchObject({ status: 'queued', attempts: 0 });

    await setFaults(gw.url, { mode: 'up' });
    const started = Date.now();
    expect(await gw.gateway.retryCredentialsNow('sandbox')).toEqual({ sandbox: 'recovered' });
    const [done] = await waitForFinal(gw.url, [operationId], 15000);
    expect(done).toMatchObject({ status: 'succeeded', attempts: 1 });
    // Woken, not left to its next look at the state (the periodic probe is an hour away).
    expect(Date.now() - started).toBeLessThan(15000);
    const versions = await history(gw.fhirBase, `Patient/${patient}`);
    expect(versions.slice(before).map(emailOf)).toEqual(['reloaded@example.org']);
    expect((await http('GET', `${gw.url}/readyz`)).body.connections.sandbox.state).toBe('up');
  });
});

describe('the shared credentials state', () => {
  const prefix = `t-${randomUUID().slice(0, 12)}`;
  const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
  const logs = captureLogs();
  const logger = createLogger({ level: 'debug', destination: logs.stream });
  const transitions: string[] = [];
  /** Two processes' views of one connection. */
  const processes = ['a', 'b'].map((name) =>
    createConnectionCredentials({
      redis,
      prefix: `{${prefix}}`,
      connection: 'epic',
      probeIntervalMs: 60_000,
      logger,
      cacheMs: 0,
      onTransition: (change: CredentialsTransition) => transitions.push(`${name}:${change.state}`),
    }),
  );
  const [a, b] = processes as [(typeof processes)[0], (typeof processes)[0]];
  const refused = (): Promise<never> =>
    Promise.reject(new ContinuumError('EHR_CREDENTIALS_REJECTED', { extra: { ehrStatus: 401 } }));
  const answered = (): Promise<unknown> => Promise.resolve({});

  afterAll(async () => {
    redis.disconnect();
    await deletePrefix(prefix);
  });

  it('enters once across processes, probes once per interval, and ends once', async () => {
    await Promise.all([a.recordRejected(401), b.recordRejected(401), a.recordRejected(403)]);
    expect(transitions).toHaveLength(1);
    expect(await b.allowsRequests()).toBe(false);
    const snapshot = await a.snapshot();
    expect(snapshot).toMatchObject({ state: 'credentials-rejected', ehrStatus: 401 });
    expect(snapshot.since).toBe(snapshot.lastProbeAt);

    // The episode began just now: the first periodic probe is an interval away, for either process.
    expect(await a.probeIfDue(answered)).toBe('not-due');
    expect(await b.probeIfDue(answered)).toBe('not-due');
    expect(await b.retryNow(refused)).toBe('still-rejected');
    // An EHR that does not answer at all says nothing about the credentials.
    expect(await a.retryNow(() => Promise.reject(new ContinuumError('EHR_UNAVAILABLE')))).toBe('unknown');
    expect(await a.allowsRequests()).toBe(false);

    expect(await Promise.all([a.retryNow(answered), b.retryNow(answered)])).toEqual(
      expect.arrayContaining(['recovered']),
    );
    expect(transitions.filter((t) => t.endsWith(':accepted'))).toHaveLength(1);
    expect(await a.allowsRequests()).toBe(true);
    expect(await b.snapshot()).toEqual({
      state: 'accepted',
      since: undefined,
      ehrStatus: undefined,
      lastProbeAt: undefined,
    });
    expect(await a.retryNow(refused)).toBe('accepted');
  });

  it('never lets a probe from an ended episode end the next one', async () => {
    transitions.length = 0;
    await a.recordRejected(401);
    let probeStarted: () => void = () => undefined;
    const started = new Promise<void>((resolve) => {
      probeStarted = resolve;
    });
    let finishSlowProbe: () => void = () => undefined;
    const slowCheck = (): Promise<unknown> => {
      probeStarted();
      return new Promise<void>((resolve) => {
        finishSlowProbe = resolve;
      });
    };
    const slow = a.retryNow(slowCheck);
    await started;
    // Meanwhile another process ends the episode, and the credentials are refused again.
    expect(await b.retryNow(answered)).toBe('recovered');
    await b.recordRejected(403);
    finishSlowProbe();
    expect(await slow).toBe('accepted');
    expect((await a.snapshot()).state).toBe('credentials-rejected');
    expect(transitions).toEqual(['a:credentials-rejected', 'b:accepted', 'b:credentials-rejected']);
    expect(logs.text()).not.toMatch(/authorization|bearer/i);
  });
});
