import type { Appointment, Schedule, Slot } from '../domain/fhir';

/**
 * An Appointment using every element the default mapping reads. The profile's expressions are run
 * on it when a profile loads, so a mistake only visible at evaluation stops the start-up instead of
 * failing an agent's screen pop.
 */
const sample: Appointment = {
  resourceType: 'Appointment',
  id: 'sample',
  meta: { versionId: '1' },
  status: 'cancelled',
  cancelationReason: {
    coding: [
      { system: 'http://terminology.hl7.org/CodeSystem/appointment-cancellation-reason', code: 'pat' },
    ],
  },
  extension: [
    { url: 'https://continuum.example/fhir/StructureDefinition/appointment-mode', valueCode: 'video' },
  ],
  serviceType: [{ coding: [{ code: '124', display: 'General Practice' }], text: 'General Practice' }],
  appointmentType: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0276', code: 'ROUTINE' }] },
  reasonCode: [{ text: 'Sample reason' }],
  description: 'Sample reason',
  start: '2024-01-02T09:00:00Z',
  end: '2024-01-02T09:30:00Z',
  participant: [
    { actor: { reference: 'Patient/sample', display: 'Ada Sample' }, status: 'accepted' },
    {
      type: [{ coding: [{ code: 'PPRF' }] }],
      actor: { reference: 'Practitioner/sample', display: 'Dr Sample' },
      status: 'accepted',
    },
    { actor: { reference: 'Location/sample', display: 'Sample Clinic' }, status: 'accepted' },
  ],
};

export const SAMPLE_APPOINTMENT: Appointment = Object.freeze(sample);

const slot: Slot = {
  resourceType: 'Slot',
  id: 'sample-slot',
  meta: { versionId: '1' },
  schedule: { reference: 'Schedule/sample' },
  status: 'free',
  start: '2024-01-02T09:00:00Z',
  end: '2024-01-02T09:30:00Z',
  serviceType: [{ coding: [{ code: '124', display: 'General Practice' }], text: 'General Practice' }],
};

const schedule: Schedule = {
  resourceType: 'Schedule',
  id: 'sample',
  actor: [
    { reference: 'Practitioner/sample', display: 'Dr Sample' },
    { reference: 'Location/sample', display: 'Sample Clinic' },
  ],
  serviceType: [{ text: 'General Practice' }],
};

/** A Slot and its Schedule using every element the default mapping reads, tried at load like the others. */
export const SAMPLE_SLOT: Slot = Object.freeze(slot);
export const SAMPLE_SCHEDULE: Schedule = Object.freeze(schedule);
