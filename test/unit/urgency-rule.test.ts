import type { CallbackPriority } from '../../src/domain/call';
import type { OperationPayload } from '../../src/domain/operation';
import { decideUrgency } from '../../src/domain/urgency-rule';
import type { SlotModel } from '../../src/domain/slot';

const NOW = new Date('2026-03-02T10:00:00.000Z');
const HOUR = 3_600_000;
const at = (hours: number): string => new Date(NOW.getTime() + hours * HOUR).toISOString();

const slot = (start: string | undefined): SlotModel => ({
  id: 'slot-1',
  version: '1',
  status: 'free',
  start,
  end: undefined,
  scheduleId: 'sch-1',
  serviceType: undefined,
  practitioner: undefined,
  location: undefined,
  modes: ['in-person'],
});

const booking = (start: string | undefined): OperationPayload => ({
  kind: 'appointment.book',
  patientId: 'p1',
  slotId: 'slot-1',
  mode: 'in-person',
  appointmentType: undefined,
  reason: undefined,
  slot: start === undefined ? undefined : slot(start),
});

const change = (kind: 'appointment.cancel' | 'appointment.confirm'): OperationPayload => ({
  kind,
  patientId: 'p1',
  appointmentId: 'a1',
  reason: undefined,
});

const reschedule = (newStart: string | undefined): OperationPayload => ({
  kind: 'appointment.reschedule',
  patientId: 'p1',
  appointmentId: 'a1',
  reason: undefined,
  booking: {
    slotId: 'slot-2',
    slot: newStart === undefined ? undefined : slot(newStart),
    mode: 'in-person',
    appointmentType: undefined,
    reason: undefined,
  },
});

const callback = (priority: CallbackPriority): OperationPayload => ({
  kind: 'callback.request',
  callback: {
    patientId: 'p1',
    phone: '+16175550100',
    windowStart: undefined,
    windowEnd: undefined,
    priority,
    reason: undefined,
    notes: undefined,
  },
});

const patientUpdate: OperationPayload = {
  kind: 'patient.update',
  patientId: 'p1',
  changes: { email: 'x@example.org' },
  baseVersion: undefined,
};

const decide = (
  payload: OperationPayload,
  appointmentStarts: readonly (string | undefined)[] = [],
  requested?: 'urgent' | 'routine',
) => decideUrgency({ payload, appointmentStarts, requested, now: NOW });

const URGENT_APPOINTMENT = { urgency: 'urgent', reason: 'appointment-within-48h' };
const ROUTINE = { urgency: 'routine', reason: undefined };

describe('the urgency of a write', () => {
  it('makes a booking urgent up to 48 hours ahead, inclusive, and routine after', () => {
    expect(decide(booking(at(1)))).toEqual(URGENT_APPOINTMENT);
    expect(decide(booking(at(48)))).toEqual(URGENT_APPOINTMENT);
    expect(decide(booking(new Date(NOW.getTime() + 48 * HOUR + 1).toISOString()))).toEqual(ROUTINE);
    expect(decide(booking(at(24 * 14)))).toEqual(ROUTINE);
  });

  it('leaves a booking routine when its start is unknown, or already past', () => {
    expect(decide(booking(undefined))).toEqual(ROUTINE);
    expect(decide(booking(at(-1)))).toEqual(ROUTINE);
    expect(decide(booking('not a time'))).toEqual(ROUTINE);
  });

  it('judges a cancellation by the appointment it cancels, and never a confirmation', () => {
    expect(decide(change('appointment.cancel'), [at(30)])).toEqual(URGENT_APPOINTMENT);
    expect(decide(change('appointment.cancel'), [at(72)])).toEqual(ROUTINE);
    expect(decide(change('appointment.cancel'), [undefined])).toEqual(ROUTINE);
    expect(decide(change('appointment.confirm'), [at(2)])).toEqual(ROUTINE);
  });

  it('makes a reschedule urgent when either the old or the new appointment is within 48 hours', () => {
    expect(decide(reschedule(at(24 * 10)), [at(5)])).toEqual(URGENT_APPOINTMENT);
    expect(decide(reschedule(at(5)), [at(24 * 10)])).toEqual(URGENT_APPOINTMENT);
    expect(decide(reschedule(at(24 * 10)), [at(24 * 9)])).toEqual(ROUTINE);
  });

  it('makes a callback urgent when its priority is above routine', () => {
    expect(decide(callback('routine'))).toEqual(ROUTINE);
    for (const priority of ['urgent', 'asap', 'stat'] as const) {
      expect(decide(callback(priority))).toEqual({ urgency: 'urgent', reason: 'callback-urgent' });
    }
  });

  it('leaves corrections, call logs and far bookings routine', () => {
    expect(decide(patientUpdate)).toEqual(ROUTINE);
    expect(decide(booking(at(24 * 30)))).toEqual(ROUTINE);
  });

  it('follows an explicit request either way', () => {
    expect(decide(patientUpdate, [], 'urgent')).toEqual({ urgency: 'urgent', reason: 'requested' });
    expect(decide(booking(at(2)), [], 'routine')).toEqual(ROUTINE);
    expect(decide(callback('stat'), [], 'routine')).toEqual(ROUTINE);
  });
});
