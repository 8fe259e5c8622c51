/**
 * The `slot.yaml` part of a profile. A Slot alone says when; whom and where come from its
 * Schedule, so the reader takes both (the Schedule arrives with the Slot search's `_include`).
 */
import { z } from 'zod';
import type { Schedule, Slot } from '../domain/fhir';
import { APPOINTMENT_MODES, type AppointmentMode } from '../domain/appointment';
import { SERVICE_TYPE_SEARCHES, type SlotModel } from '../domain/slot';
import type { FhirPathExpression } from './fhirpath-expression';
import { firstReference, firstText, type Evaluate } from './field-readers';

const expression = z.string().trim().min(1, 'must not be empty');

export const slotFileSchema = z.strictObject({
  read: z.strictObject({
    id: expression,
    version: expression,
    status: expression,
    start: expression,
    end: expression,
    schedule: expression,
    serviceType: expression,
  }),
  schedule: z.strictObject({
    practitioner: expression,
    location: expression,
    serviceType: expression,
    modes: expression,
  }),
  /** Where the EHR keeps a slot's service type: slot, schedule or either (see domain/slot.ts). */
  serviceTypeSearch: z
    .enum(SERVICE_TYPE_SEARCHES, { error: `must be one of ${SERVICE_TYPE_SEARCHES.join(', ')}` })
    .default('either'),
});

export type SlotFile = z.infer<typeof slotFileSchema>;
export type SlotReadField = keyof SlotFile['read'];
export type ScheduleReadField = keyof SlotFile['schedule'];

export interface SlotReadSpec {
  readonly read: Readonly<Record<SlotReadField, FhirPathExpression>>;
  readonly schedule: Readonly<Record<ScheduleReadField, FhirPathExpression>>;
}

function modesOf(values: readonly unknown[]): AppointmentMode[] {
  const modes = APPOINTMENT_MODES.filter((mode) => values.includes(mode));
  return modes.length > 0 ? modes : [...APPOINTMENT_MODES];
}

export function readSlotWith(
  spec: SlotReadSpec,
  evaluate: Evaluate,
  slot: Slot,
  schedule: Schedule | undefined,
): SlotModel {
  const text = (field: SlotReadField): string | undefined =>
    firstText(evaluate, `read.${field}`, spec.read[field], slot);
  const fromSchedule = <T>(read: (field: ScheduleReadField) => T | undefined) =>
    schedule === undefined ? () => undefined : read;
  const scheduleText = fromSchedule((field) =>
    firstText(evaluate, `schedule.${field}`, spec.schedule[field], schedule),
  );
  const scheduleReference = fromSchedule((field) =>
    firstReference(evaluate, `schedule.${field}`, spec.schedule[field], schedule),
  );
  return {
    id: text('id') ?? '',
    version: text('version'),
    status: text('status') ?? 'unknown',
    start: text('start'),
    end: text('end'),
    scheduleId: firstReference(evaluate, 'read.schedule', spec.read.schedule, slot)?.id,
    serviceType: text('serviceType') ?? scheduleText('serviceType'),
    practitioner: scheduleReference('practitioner'),
    location: scheduleReference('location'),
    modes: modesOf(schedule === undefined ? [] : evaluate('schedule.modes', spec.schedule.modes, schedule)),
  };
}
