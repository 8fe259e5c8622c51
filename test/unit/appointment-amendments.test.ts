/**
 * What a conversion and a hold mean outside the EHR: their urgency, the events desks hear, and how
 * a queued one shows on the appointment it changes.
 */
import type { AppointmentModel } from '../../src/domain/appointment';
import type { Operation, OperationPayload } from '../../src/domain/operation';
import { decideUrgency } from '../../src/domain/urgency-rule';
import { operationEvents } from '../../src/use-cases/call-center-events';
import { markPendingChanges } from '../../src/use-cases/pending-writes';

const NOW = new Date('2026-03-02T10:00:00.000Z');
const inHours = (hours: number): string => new Date(NOW.getTime() + hours * 3_600_000).toISOString();

const convert: OperationPayload = {
  kind: 'appointment.convert',
  patientId: 'p1',
  appointmentId: 'a1',
  mode: 'video',
  reason: 'weather',
};
const hold: OperationPayload = {
  kind: 'appointment.hold',
  patientId: 'p1',
  appointmentId: 'a1',
  reason: undefined,
};

function operation(id: string, payload: OperationPayload, status: Operation['status']): Operation {
  return {
    id,
    kind: payload.kind,
    connection: 'sandbox',
    lane: 'sandbox/Patient/p1',
    patientId: 'p1',
    payload,
    mappingProfile: 'default',
    mappingHash: 'h',
    idempotencyKey: undefined,
    requestHash: 'r',
    correlationId: undefined,
    requestId: undefined,
    owner: { clientId: 'c1', tenant: 'default' },
    status,
    attempts: 1,
    lastError: undefined,
    resourceRef: status === 'succeeded' ? 'Appointment/a1' : undefined,
    resourceVersion: undefined,
    history: [],
    review: undefined,
    createdAt: NOW.toISOString(),
    updatedAt: NOW.toISOString(),
  };
}

const appointment: AppointmentModel = {
  id: 'a1',
  version: '3',
  status: 'booked',
  start: inHours(30),
  end: undefined,
  patientId: 'p1',
  slotId: 's1',
  practitioner: undefined,
  location: undefined,
  mode: 'in-person',
  appointmentType: undefined,
  serviceType: undefined,
  reason: undefined,
  cancellationReason: undefined,
};

describe('urgency', () => {
  it.each([convert, hold])(
    'makes a $kind of a visit within 48 h urgent, and one later routine',
    (payload) => {
      const decide = (start: string) =>
        decideUrgency({ payload, appointmentStarts: [start], requested: undefined, now: NOW });
      expect(decide(inHours(47))).toEqual({ urgency: 'urgent', reason: 'appointment-within-48h' });
      expect(decide(inHours(49)).urgency).toBe('routine');
    },
  );
});

describe('events', () => {
  it('announces a conversion as rescheduled, with the change and the new mode', () => {
    const events = operationEvents(operation('op1', convert, 'succeeded'));
    const rescheduled = events.find((e) => e.type === 'appointment.rescheduled');
    expect(rescheduled?.data).toMatchObject({
      change: 'mode',
      mode: 'video',
      resourceRef: 'Appointment/a1',
      kind: 'appointment.convert',
    });
    // The reason is the caller's business with the EHR, not the desks'.
    expect(JSON.stringify(rescheduled)).not.toContain('weather');
  });

  it('announces a hold as rescheduled with change "held"', () => {
    const events = operationEvents(operation('op2', hold, 'succeeded'));
    expect(events.find((e) => e.type === 'appointment.rescheduled')?.data).toMatchObject({ change: 'held' });
  });

  it('announces nothing about the appointment when the write failed', () => {
    const events = operationEvents(operation('op3', convert, 'failed'));
    expect(events.map((e) => e.type)).toEqual(['operation.failed']);
  });
});

describe('pending overlay', () => {
  it('shows a queued conversion with its new mode, marked pending', () => {
    const [shown] = markPendingChanges([appointment], [operation('op4', convert, 'queued')]);
    expect(shown).toMatchObject({
      mode: 'video',
      status: 'booked',
      pending: { operationId: 'op4', kind: 'appointment.convert', status: 'queued' },
    });
  });

  it('shows a queued hold as waitlist, and the latest change as the pending one', () => {
    const [shown] = markPendingChanges(
      [appointment],
      [operation('op5', convert, 'queued'), operation('op6', hold, 'queued')],
    );
    expect(shown).toMatchObject({ mode: 'video', status: 'waitlist', pending: { operationId: 'op6' } });
  });

  it('leaves other appointments as the EHR has them', () => {
    const other = { ...appointment, id: 'a2' };
    expect(markPendingChanges([other], [operation('op7', convert, 'queued')])).toEqual([other]);
  });
});
