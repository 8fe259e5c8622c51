import type { Appointment, Encounter, Organization, Patient, Reference, Slot } from '@medplum/fhirtypes';
import type { Clinic, Clinician } from './seed-clinic';
import { seq } from './seed-clinic';
import {
  APPOINTMENT_TYPES,
  CANCELLATION_REASONS,
  ADULT_ENCOUNTER_TYPES,
  CHILD_ENCOUNTER_TYPES,
  SERVICE_TYPES,
  SYSTEMS,
  VISIT_REASONS,
  concept,
  coding,
} from './seed-codes';
import type { SeedPatient } from './seed-patients';
import type { SeededRandom } from './seed-random';
import type { LocalDate, ZonedCalendar } from './seed-time';
import { addDays, isWeekday, isoDate, weekdayOf } from './seed-time';

export interface CalendarSeedInput {
  readonly random: SeededRandom;
  readonly clinic: Clinic;
  readonly patients: readonly SeedPatient[];
  readonly today: Date;
  readonly calendar: ZonedCalendar;
  readonly days: number;
}

export interface CalendarSeed {
  readonly slots: Slot[];
  readonly appointments: Appointment[];
  readonly encounters: Encounter[];
}

/** Clinic hours: 30-minute slots from 09:00 to 17:00 local time, Monday to Friday. */
const SLOT_MINUTES = 30;
const DAY_START_MINUTE = 9 * 60;
const DAY_END_MINUTE = 17 * 60;
const BOOKED_SHARE = 0.15;
const CANCELLED_SHARE = 0.03;
const PRIMARY_PERFORMER = concept(SYSTEMS.participationType, 'PPRF', 'primary performer');

/**
 * The coming weeks' slots (free unless booked), the booked and cancelled appointments on them, and the
 * patients' past finished encounters. Slots start no earlier than `today` (the instant), so a demo started at
 * 3 pm does not offer this morning.
 */
export function buildCalendar(input: CalendarSeedInput): CalendarSeed {
  const { random, clinic, calendar, today } = input;
  const localToday = calendar.dateOf(today);
  const pickPatient = patientPicker(input);
  const booked = new Set<string>();
  const slots: Slot[] = [];
  const appointments: Appointment[] = [];

  for (let offset = 0; offset < input.days; offset++) {
    const day = addDays(localToday, offset);
    if (!isWeekday(day)) {
      continue;
    }
    for (const clinician of clinic.clinicians) {
      for (let minute = DAY_START_MINUTE; minute < DAY_END_MINUTE; minute += SLOT_MINUTES) {
        const start = calendar.at(day, Math.floor(minute / 60), minute % 60);
        if (start.epochMs < today.getTime()) {
          continue;
        }
        const end = calendar.at(day, Math.floor((minute + SLOT_MINUTES) / 60), (minute + SLOT_MINUTES) % 60);
        const slotId = `slot-${seq(slots.length + 1, 6)}`;
        const roll = random.next();
        const patient = roll < BOOKED_SHARE + CANCELLED_SHARE ? pickPatient(clinician) : undefined;
        const key = patient ? `${patient.id}|${start.iso}` : '';
        const status =
          patient && !booked.has(key) ? (roll < BOOKED_SHARE ? 'booked' : 'cancelled') : undefined;
        slots.push({
          resourceType: 'Slot',
          id: slotId,
          schedule: clinician.reference.schedule,
          serviceType: [clinician.serviceType],
          status: status === 'booked' ? 'busy' : 'free',
          start: start.iso,
          end: end.iso,
        });
        if (patient && status) {
          booked.add(key);
          appointments.push(
            appointment(input, {
              id: `appt-${seq(appointments.length + 1, 5)}`,
              status,
              clinician,
              patient,
              slotId,
              start: start.iso,
              end: end.iso,
              created: isoDate(addDays(localToday, -random.int(1, 30))),
            }),
          );
        }
      }
    }
  }
  return { slots, appointments, encounters: pastEncounters(input, localToday) };
}

function appointment(
  input: CalendarSeedInput,
  visit: {
    id: string;
    status: 'booked' | 'cancelled';
    clinician: Clinician;
    patient: SeedPatient;
    slotId: string;
    start: string;
    end: string;
    created: string;
  },
): Appointment {
  const { random } = input;
  const reason = random.pick(VISIT_REASONS);
  return {
    resourceType: 'Appointment',
    id: visit.id,
    status: visit.status,
    ...(visit.status === 'cancelled' ? { cancelationReason: random.pick(CANCELLATION_REASONS) } : {}),
    serviceType: [visit.clinician.serviceType],
    appointmentType: random.weighted([
      [APPOINTMENT_TYPES.routine, 55],
      [APPOINTMENT_TYPES.followUp, 30],
      [APPOINTMENT_TYPES.checkUp, 15],
    ] as const),
    reasonCode: [{ text: reason }],
    description: reason,
    start: visit.start,
    end: visit.end,
    minutesDuration: SLOT_MINUTES,
    slot: [{ reference: `Slot/${visit.slotId}` }],
    created: visit.created,
    participant: [
      { actor: patientRef(visit.patient), required: 'required', status: 'accepted' },
      {
        type: [PRIMARY_PERFORMER],
        actor: visit.clinician.reference.practitioner,
        required: 'required',
        status: 'accepted',
      },
      { actor: visit.clinician.reference.location, required: 'required', status: 'accepted' },
    ],
  };
}

function pastEncounters(input: CalendarSeedInput, localToday: LocalDate): Encounter[] {
  const { random, clinic, calendar } = input;
  const encounters: Encounter[] = [];
  const organization: Reference<Organization> = { reference: `Organization/${clinic.organization.id}` };
  for (const patient of input.patients) {
    if (!random.chance(0.6)) {
      continue;
    }
    const child = isChild(patient, localToday);
    const candidates = clinic.clinicians.filter((c) =>
      child
        ? c.serviceType === SERVICE_TYPES.paediatrics || c.serviceType === SERVICE_TYPES.generalPractice
        : c.serviceType !== SERVICE_TYPES.paediatrics,
    );
    const visits = random.int(1, 3);
    for (let visit = 0; visit < visits; visit++) {
      const clinician = random.pick(candidates);
      const day = previousWeekday(addDays(localToday, -random.int(3, 730)));
      const minute = DAY_START_MINUTE + SLOT_MINUTES * random.int(0, 15);
      const start = calendar.at(day, Math.floor(minute / 60), minute % 60);
      const end = calendar.at(day, Math.floor((minute + SLOT_MINUTES) / 60), (minute + SLOT_MINUTES) % 60);
      const period = { start: start.iso, end: end.iso };
      encounters.push({
        resourceType: 'Encounter',
        id: `enc-${seq(encounters.length + 1, 5)}`,
        status: 'finished',
        class: coding(SYSTEMS.actCode, 'AMB', 'ambulatory'),
        type: [random.pick(child ? CHILD_ENCOUNTER_TYPES : ADULT_ENCOUNTER_TYPES)],
        serviceType: clinician.serviceType,
        subject: patientRef(patient),
        participant: [{ type: [PRIMARY_PERFORMER], individual: clinician.reference.practitioner, period }],
        period,
        reasonCode: [{ text: random.pick(VISIT_REASONS) }],
        location: [{ location: clinician.reference.location, status: 'completed' }],
        serviceProvider: organization,
      });
    }
  }
  return encounters;
}

/** Who books with whom: children see paediatrics (or primary care), women's health sees adult women. */
function patientPicker(input: CalendarSeedInput): (clinician: Clinician) => SeedPatient {
  const { random, patients, calendar, today } = input;
  const localToday = calendar.dateOf(today);
  const children = patients.filter((p) => isChild(p, localToday));
  const adults = patients.filter((p) => !isChild(p, localToday));
  const women = adults.filter((p) => p.gender === 'female');
  return (clinician) => {
    if (clinician.serviceType === SERVICE_TYPES.paediatrics && children.length > 0) {
      return random.pick(children);
    }
    if (clinician.serviceType === SERVICE_TYPES.obstetricsGynaecology && women.length > 0) {
      return random.pick(women);
    }
    return random.pick(adults.length > 0 ? adults : patients);
  };
}

function isChild(patient: SeedPatient, today: LocalDate): boolean {
  return Number((patient.birthDate ?? '0').slice(0, 4)) > today.year - 18;
}

function previousWeekday(day: LocalDate): LocalDate {
  const weekday = weekdayOf(day);
  return weekday === 6 ? addDays(day, -1) : weekday === 0 ? addDays(day, -2) : day;
}

function patientRef(patient: SeedPatient): Reference<Patient> {
  const name = patient.name?.[0];
  return {
    reference: `Patient/${patient.id}`,
    display: `${name?.given?.[0] ?? ''} ${name?.family ?? ''}`.trim(),
  };
}
