/**
 * A replay re-sends writes to the EHR: it must say what it is about and, unless told otherwise,
 * only show what it would do. An empty body once started a real replay of up to 1,000 writes.
 */
import { transition } from '../../src/domain/operation';
import { startInProcessApi, type InProcessApi } from '../support/in-process-api';
import { waitFor } from '../support/wait-for';

let api: InProcessApi;
let failedId: string;

beforeAll(async () => {
  api = await startInProcessApi();
  // No worker runs here: the write stays queued until the test marks it failed, as an outage would.
  const accepted = await api
    .request()
    .patch('/v1/patients/pat-0002')
    .send({ email: 'replay-guard@example.org' });
  expect(accepted.status).toBe(202);
  failedId = (accepted.body as { operationId: string }).operationId;
  const op = await api.rig.deps.store.get(failedId);
  if (op === undefined) throw new Error('the write was not stored');
  await api.rig.deps.store.save(transition(op, { status: 'failed' }, new Date()));
});
afterAll(async () => {
  await api.stop();
});

const statusOf = async (): Promise<string | undefined> => (await api.rig.deps.store.get(failedId))?.status;

it('refuses a replay that names nothing, and one that names both everything and a filter', async () => {
  for (const body of [{}, { dryRun: false }, { limit: 5 }, { all: true, status: 'failed' }]) {
    const res = await api.request().post('/v1/operations/replay').send(body);
    expect({ body, status: res.status, code: (res.body as { code: string }).code }).toEqual({
      body,
      status: 400,
      code: 'VALIDATION',
    });
  }
  const empty = await api.request().post('/v1/operations/replay');
  expect(empty.status).toBe(400);
  expect(await statusOf()).toBe('failed');
});

it('only shows what a filtered replay would re-send, unless told dryRun: false', async () => {
  for (const body of [{ status: 'failed' }, { all: true }, { since: '2000-01-01T00:00:00Z' }]) {
    const res = await api.request().post('/v1/operations/replay').send(body);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ dryRun: true });
    expect(
      (res.body as { operations: { operationId: string }[] }).operations.map((o) => o.operationId),
    ).toContain(failedId);
  }
  // Forms too: `status=failed` is a dry run as well.
  const form = await api.request().post('/v1/operations/replay').type('form').send('status=failed');
  expect(form.body).toMatchObject({ dryRun: true });
  expect(await statusOf()).toBe('failed');

  const real = await api.request().post('/v1/operations/replay').send({ status: 'failed', dryRun: false });
  expect(real.status).toBe(202);
  expect(real.body).toMatchObject({ total: 1 });
  await waitFor(async () => ((await statusOf()) === 'queued' ? true : undefined), {
    what: 'the replayed write to be queued again',
  });
});
