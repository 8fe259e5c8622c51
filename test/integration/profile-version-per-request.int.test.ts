/**
 * Which profile version a write goes by. A request reads the running version once: a reload that
 * lands while it is being accepted never splits its checks and its pin between two versions. A
 * bulk replay sends each write with the version it was accepted under; only an operator's retry of
 * one write moves it to the running version, and its history says so.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MappingProfile } from '../../src/domain/mapping-profile';
import { transition, type Operation } from '../../src/domain/operation';
import { acceptAppointmentChange } from '../../src/use-cases/accept-appointment-change';
import { acceptPatientUpdate } from '../../src/use-cases/accept-patient-update';
import { retryOperation } from '../../src/use-cases/operator-actions';
import { ReplayRegistry } from '../../src/use-cases/replay-operations';
import type { ConnectionContext } from '../../src/use-cases/use-case-deps';
import { http } from '../support/http';
import { startUseCaseRig, type UseCaseRig } from '../support/use-case-rig';
import { waitFor } from '../support/wait-for';

jest.setTimeout(60000);

const owner = { clientId: 'cl_versions', tenant: 'default' };
const tenant = { name: 'default', connections: ['sandbox'], locations: undefined };
const context = (key: string) => ({
  owner,
  idempotencyKey: key,
  correlationId: undefined,
  requestId: undefined,
});

let rig: UseCaseRig;
beforeAll(async () => {
  rig = await startUseCaseRig();
});
afterAll(async () => {
  await rig.stop();
});

/** The connection as a reload landing mid-request makes it: A on the first read, B on every later one. */
function reloadedAfterFirstRead(a: MappingProfile, b: MappingProfile): ConnectionContext {
  let reads = 0;
  const descriptors = Object.getOwnPropertyDescriptors(rig.connection);
  return Object.defineProperties({} as ConnectionContext, {
    ...descriptors,
    mapping: { enumerable: true, configurable: true, get: () => (reads++ === 0 ? a : b) },
  });
}

it('checks the reason and pins the write under the one version the request started with', async () => {
  const a = rig.connection.mapping;
  const reason = a.cancellationReasons[0];
  expect(reason).toBeDefined();
  // B codes no reason at all: had the check or the pin read B, the request would fail or be B's.
  const b: MappingProfile = {
    ...a,
    hash: 'b'.repeat(64),
    cancellationReasons: [],
    cancellationReasonOf: () => undefined,
  };
  const bundle = (await http('GET', `${rig.fhirBase}/Appointment?status=booked&_count=1`)).body;
  const appointmentId = bundle.entry[0].resource.id as string;

  const accepted = await acceptAppointmentChange(
    rig.deps,
    reloadedAfterFirstRead(a, b),
    context('snapshot-cancel'),
    { kind: 'appointment.cancel', appointmentId, patientId: undefined, reason },
  );
  expect(accepted.operation).toMatchObject({ mappingProfile: a.name, mappingHash: a.hash });
  expect(accepted.operation.mappingHash).not.toBe(b.hash);
  expect((await rig.deps.store.get(accepted.operation.id))?.mappingHash).toBe(a.hash);
});

async function fail(op: Operation): Promise<Operation> {
  const current = await rig.deps.store.get(op.id);
  if (current === undefined) throw new Error(`no operation ${op.id}`);
  const sending = transition(current, { status: 'sending' }, new Date());
  await rig.deps.store.save(sending);
  const failed = transition(
    sending,
    {
      status: 'failed',
      error: {
        code: 'EHR_REJECTED',
        status: 422,
        retryable: false,
        detail: 'the EHR refused the write',
        ehrStatus: 422,
      },
    },
    new Date(),
  );
  await rig.deps.store.save(failed);
  return failed;
}

it('replays a write with the version it was accepted under; an operator retry moves it to the running one', async () => {
  const hashA = rig.connection.mapping.hash;
  const { operation } = await acceptPatientUpdate(rig.deps, rig.connection, context('replay-pinned'), {
    patientId: 'pat-0021',
    changes: { email: 'replay-pinned@example.org' },
    ifMatchVersion: undefined,
  });
  expect(operation.mappingHash).toBe(hashA);
  await fail(operation);

  // The profile changes and is reloaded: B runs.
  const file = join(rig.config.mappingsDir, 'default', 'patient.yaml');
  writeFileSync(file, `${readFileSync(file, 'utf8')}\n# changed after the write was accepted\n`);
  const reload = await rig.deps.mappingCatalog.reload('api');
  expect(reload).toMatchObject({ ok: true });
  const hashB = rig.connection.mapping.hash;
  expect(hashB).not.toBe(hashA);

  const replays = new ReplayRegistry();
  const run = await replays.start(
    rig.deps,
    { tenant, connection: 'sandbox', statuses: ['failed'], limit: 10 },
    50,
  );
  await waitFor(
    () => Promise.resolve(replays.get(run.replayId, tenant).state === 'finished' ? true : undefined),
    { timeoutMs: 10000, what: 'the replay to finish' },
  );
  expect(replays.get(run.replayId, tenant)).toMatchObject({ requeued: 1, skipped: 0 });
  const replayed = await rig.deps.store.get(operation.id);
  expect(replayed).toMatchObject({ status: 'queued', mappingProfile: 'default', mappingHash: hashA });
  expect(replayed?.history.at(-1)?.note).toMatch(/^replayed \(rp_/);
  expect(replayed?.history.map((h) => h.note ?? '').join('\n')).not.toContain('profile default');

  // One write retried by an operator after the fix: it goes with B, and its history says from what.
  await fail(replayed!);
  const retried = await retryOperation(rig.deps, operation.id, tenant);
  expect(retried).toMatchObject({ status: 'queued', mappingHash: hashB });
  expect(retried.history.at(-1)?.note).toBe(
    `retried by an operator; profile default ${hashB.slice(0, 12)} (was ${hashA.slice(0, 12)})`,
  );
});
