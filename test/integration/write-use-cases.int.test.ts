/**
 * The write use cases driven as the gateway wires them (`buildUseCaseDeps`), on the real Redis and
 * the sandbox EHR, without the API server, workers or timers: acceptance, one worker run, and the
 * patient update itself. A write template that throws on one record is a mapping failure, not an
 * outage: it goes to review on its first attempt and the patient's next write still lands.
 */
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { Patient } from '../../src/domain/fhir';
import { acceptWrite } from '../../src/use-cases/accept-write';
import { acceptPatientUpdate } from '../../src/use-cases/accept-patient-update';
import { applyPatientUpdate } from '../../src/use-cases/apply-patient-update';
import { processOperation } from '../../src/use-cases/process-operation';
import { http } from '../support/http';
import { TEST_REDIS_URL } from '../support/redis';
import { startUseCaseRig, type UseCaseRig } from '../support/use-case-rig';

/** Longer than the edited template allows; the name itself is a canary that must never be logged. */
const THROWING_CITY = 'Canaryville-upon-the-Long-River';
const context = (key?: string) => ({
  owner: { clientId: 'cl_test', tenant: 'default' },
  idempotencyKey: key,
  correlationId: undefined,
  requestId: undefined,
});

let rig: UseCaseRig;
beforeAll(async () => {
  rig = await startUseCaseRig({
    // The address template throws on one city only: deterministic, like a real profile bug.
    editProfile: {
      'patient.yaml': (text) =>
        text.replace('"city": city,', '"city": $length(city) > 24 ? $error("no rule for this city") : city,'),
    },
  });
});
afterAll(async () => {
  await rig.stop();
});

const readPatient = async (id: string): Promise<Patient> =>
  (await http('GET', `${rig.fhirBase}/Patient/${id}`)).body as Patient;

async function waitingJobs(): Promise<string[]> {
  const connection = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
  const queue = new Queue(`writes-${rig.connection.name}`, { connection, prefix: `{${rig.prefix}}` });
  try {
    return (await queue.getJobs(['waiting', 'delayed', 'prioritized'])).map((j) => j.id ?? '');
  } finally {
    await queue.close();
    connection.disconnect();
  }
}

describe('acceptWrite', () => {
  it('stores the operation, queues its job, and returns the same operation for the same key', async () => {
    const payload = {
      kind: 'patient.update' as const,
      patientId: 'pat-0003',
      changes: { email: 'accept@example.org' },
      baseVersion: undefined,
    };
    const first = await acceptWrite(rig.deps, rig.connection, context('k-accept'), payload, payload);
    expect(first.created).toBe(true);
    expect(await rig.deps.store.get(first.operation.id)).toMatchObject({ status: 'queued', attempts: 0 });
    expect(await waitingJobs()).toContain(first.operation.id);

    const again = await acceptWrite(rig.deps, rig.connection, context('k-accept'), payload, payload);
    expect(again).toMatchObject({ created: false, operation: { id: first.operation.id } });

    const other = { ...payload, changes: { email: 'other@example.org' } };
    await expect(
      acceptWrite(rig.deps, rig.connection, context('k-accept'), other, other),
    ).rejects.toMatchObject({
      code: 'IDEMPOTENCY_MISMATCH',
    });
  });
});

describe('processOperation', () => {
  it('sends a queued write to the EHR once and records the receipt', async () => {
    const accepted = await acceptPatientUpdate(rig.deps, rig.connection, context(), {
      patientId: 'pat-0005',
      changes: { email: 'processed@example.org' },
      ifMatchVersion: undefined,
    });
    expect(await processOperation(rig.deps, accepted.operation.id)).toBe('succeeded');
    const receipt = await rig.deps.store.get(accepted.operation.id);
    expect(receipt).toMatchObject({ status: 'succeeded', attempts: 1, resourceRef: 'Patient/pat-0005' });
    const patient = await readPatient('pat-0005');
    expect(patient.telecom?.filter((t) => t.system === 'email').map((t) => t.value)).toEqual([
      'processed@example.org',
    ]);
    // A second run of the same job (a worker that died after the EHR answered) sends nothing.
    const version = patient.meta?.versionId;
    expect(await processOperation(rig.deps, accepted.operation.id)).toBe('skipped');
    expect((await readPatient('pat-0005')).meta?.versionId).toBe(version);
  });

  it('sends a write whose template throws on the record to review on its first attempt; the next write lands', async () => {
    const before = await readPatient('pat-0007');
    const broken = await acceptPatientUpdate(rig.deps, rig.connection, context(), {
      patientId: 'pat-0007',
      changes: {
        address: {
          line: ['1 Main St'],
          city: THROWING_CITY,
          state: 'MA',
          postalCode: '02110',
          country: 'US',
        },
      },
      ifMatchVersion: undefined,
    });
    const next = await acceptPatientUpdate(rig.deps, rig.connection, context(), {
      patientId: 'pat-0007',
      changes: { email: 'after-review@example.org' },
      ifMatchVersion: undefined,
    });
    // Behind the broken write in the patient's lane: not queued as a job yet.
    expect(await waitingJobs()).not.toContain(next.operation.id);

    expect(await processOperation(rig.deps, broken.operation.id)).toBe('needs-review');
    const receipt = await rig.deps.store.get(broken.operation.id);
    expect(receipt).toMatchObject({
      status: 'needs-review',
      attempts: 1,
      lastError: {
        code: 'MAPPING_FAILED',
        retryable: false,
        mapping: {
          profile: 'default',
          file: 'patient.yaml',
          field: 'write.address.template',
          expression: expect.stringContaining('$error("no rule for this city")'),
          errorClass: 'JSONata D3137',
        },
      },
    });
    // The cause names the rule, never the record's values.
    expect(JSON.stringify(receipt?.lastError)).not.toContain('1 Main St');
    expect(JSON.stringify(receipt?.lastError)).not.toContain('no rule for this city"}');
    expect((await readPatient('pat-0007')).meta?.versionId).toBe(before.meta?.versionId);
    const logged = rig.logs
      .lines()
      .find((l) => l.operationId === broken.operation.id && l.msg === 'write needs review');
    expect(logged).toMatchObject({
      mapping: { field: 'write.address.template', errorClass: 'JSONata D3137' },
    });
    expect(rig.logs.text()).not.toContain('1 Main St');
    expect(rig.logs.text()).not.toContain(THROWING_CITY);

    // The lane moved on: the next write was woken, and it lands.
    expect(await waitingJobs()).toContain(next.operation.id);
    expect(await processOperation(rig.deps, next.operation.id)).toBe('succeeded');
    const after = await readPatient('pat-0007');
    expect(after.telecom?.filter((t) => t.system === 'email').map((t) => t.value)).toEqual([
      'after-review@example.org',
    ]);
    expect(after.address).toEqual(before.address);
  });
});

describe('applyPatientUpdate', () => {
  it('puts the change in the EHR with If-Match, and a re-run finds it in place without writing again', async () => {
    const before = await readPatient('pat-0009');
    const payload = {
      kind: 'patient.update' as const,
      patientId: 'pat-0009',
      changes: { phones: ['+16175550142'] },
      baseVersion: before.meta?.versionId,
    };
    const applied = await applyPatientUpdate(rig.deps, rig.connection, payload);
    expect(applied.resourceRef).toBe('Patient/pat-0009');
    const after = await readPatient('pat-0009');
    expect(after.meta?.versionId).not.toBe(before.meta?.versionId);
    expect(after.telecom?.filter((t) => t.system === 'phone').map((t) => t.value)).toContain('+16175550142');

    await applyPatientUpdate(rig.deps, rig.connection, payload);
    expect((await readPatient('pat-0009')).meta?.versionId).toBe(after.meta?.versionId);
  });
});
