/**
 * A conversion meets an edit made in the EHR between its read and its write: the If-Match update is
 * refused, and the conversion is made again on the EHR's new version, so the other edit is kept and
 * the mode is changed once. A hold that meets a cancellation made in between stops with a conflict
 * instead of undoing it.
 */
import type { Appointment } from '../../src/domain/fhir';
import {
  applyAppointmentConvert,
  applyAppointmentHold,
} from '../../src/use-cases/apply-appointment-amendment';
import type { ConnectionContext } from '../../src/use-cases/use-case-deps';
import { http } from '../support/http';
import { history } from '../support/pipeline';
import { startUseCaseRig, type UseCaseRig } from '../support/use-case-rig';

const MODE_URL = 'https://continuum.example/fhir/StructureDefinition/appointment-mode';

let rig: UseCaseRig;
beforeAll(async () => {
  rig = await startUseCaseRig();
});
afterAll(async () => {
  await rig.stop();
});

const read = async (id: string): Promise<Appointment> =>
  (await http('GET', `${rig.fhirBase}/Appointment/${id}`)).body as Appointment;

/** A booked appointment of the seed with its patient. */
async function bookedAppointment(skip: number): Promise<{ id: string; patientId: string }> {
  const today = new Date().toISOString().slice(0, 10);
  const bundle = await http(
    'GET',
    `${rig.fhirBase}/Appointment?status=booked&date=ge${today}&_count=1&_offset=${skip}`,
  );
  const appointment = (bundle.body.entry?.[0]?.resource ?? {}) as Appointment;
  const patient = appointment.participant
    .map((p) => p.actor?.reference ?? '')
    .find((ref) => ref.startsWith('Patient/'));
  if (appointment.id === undefined || patient === undefined)
    throw new Error('no booked appointment in the seed');
  return { id: appointment.id, patientId: patient.replace('Patient/', '') };
}

/** The connection, its EHR making `edit` once, just before the first update reaches it. */
function editingFirst(edit: () => Promise<void>): { connection: ConnectionContext; updates: () => number } {
  let updates = 0;
  const ehr = new Proxy(rig.connection.ehr, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if ((property !== 'update' && property !== 'patch') || typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        updates += 1;
        if (updates === 1) await edit();
        return (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
      };
    },
  });
  return { connection: { ...rig.connection, ehr }, updates: () => updates };
}

async function putAs(id: string, change: (current: Appointment) => Appointment): Promise<void> {
  const current = await read(id);
  const res = await http('PUT', `${rig.fhirBase}/Appointment/${id}`, {
    body: change(current),
    headers: { 'content-type': 'application/fhir+json' },
  });
  if (res.status !== 200) throw new Error(`the EHR edit was refused: ${res.status}`);
}

it('converts on top of an edit made in between, keeping it', async () => {
  const { id, patientId } = await bookedAppointment(0);
  const before = (await history(rig.fhirBase, `Appointment/${id}`)).length;
  const { connection, updates } = editingFirst(() =>
    putAs(id, (current) => ({ ...current, comment: 'Bring the referral letter' })),
  );
  const result = await applyAppointmentConvert(connection, {
    kind: 'appointment.convert',
    patientId,
    appointmentId: id,
    mode: 'video',
    reason: undefined,
  });
  const after = await read(id);
  console.log(`conversion on a moving record: ${updates()} update(s) sent`);
  expect(updates()).toBe(2);
  expect(after.comment).toBe('Bring the referral letter');
  expect(after.extension?.find((e) => e.url === MODE_URL)).toMatchObject({ valueCode: 'video' });
  // Two new versions: the other edit, then the conversion; none lost, none doubled.
  expect((await history(rig.fhirBase, `Appointment/${id}`)).length).toBe(before + 2);
  expect(result.resourceVersion).toBe(after.meta?.versionId);
});

it('stops a hold that meets a cancellation made in between, leaving the cancellation', async () => {
  const { id, patientId } = await bookedAppointment(1);
  const { connection } = editingFirst(() => putAs(id, (current) => ({ ...current, status: 'cancelled' })));
  await expect(
    applyAppointmentHold(
      connection,
      { kind: 'appointment.hold', patientId, appointmentId: id, reason: undefined },
      1,
      () => Promise.resolve(),
    ),
  ).rejects.toMatchObject({ code: 'CONFLICT' });
  expect((await read(id)).status).toBe('cancelled');
});
