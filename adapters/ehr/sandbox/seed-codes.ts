import type { CodeableConcept, Coding } from '@medplum/fhirtypes';

/** Code systems and codes the seed data uses; all are standard R4 terminology. */
export const SYSTEMS = {
  mrn: 'http://sandbox.continuum.example/mrn',
  npi: 'http://hl7.org/fhir/sid/us-npi',
  identifierType: 'http://terminology.hl7.org/CodeSystem/v2-0203',
  serviceType: 'http://terminology.hl7.org/CodeSystem/service-type',
  appointmentType: 'http://terminology.hl7.org/CodeSystem/v2-0276',
  cancellationReason: 'http://terminology.hl7.org/CodeSystem/appointment-cancellation-reason',
  actCode: 'http://terminology.hl7.org/CodeSystem/v3-ActCode',
  roleCode: 'http://terminology.hl7.org/CodeSystem/v3-RoleCode',
  participationType: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType',
  degree: 'http://terminology.hl7.org/CodeSystem/v2-0360',
  organizationType: 'http://terminology.hl7.org/CodeSystem/organization-type',
  physicalType: 'http://terminology.hl7.org/CodeSystem/location-physical-type',
  snomed: 'http://snomed.info/sct',
  language: 'urn:ietf:bcp:47',
} as const;

export function concept(system: string, code: string, display: string): CodeableConcept {
  return { coding: [{ system, code, display }], text: display };
}

export function coding(system: string, code: string, display: string): Coding {
  return { system, code, display };
}

export const SERVICE_TYPES = {
  generalPractice: concept(SYSTEMS.serviceType, '124', 'General Practice'),
  immunization: concept(SYSTEMS.serviceType, '57', 'Immunization'),
  paediatrics: concept(SYSTEMS.serviceType, '200', 'Paediatric Medicine'),
  cardiology: concept(SYSTEMS.serviceType, '165', 'Cardiology'),
  dermatology: concept(SYSTEMS.serviceType, '168', 'Dermatology'),
  obstetricsGynaecology: concept(SYSTEMS.serviceType, '186', 'Obstetrics & Gynaecology'),
} as const;

export const APPOINTMENT_TYPES = {
  routine: concept(SYSTEMS.appointmentType, 'ROUTINE', 'Routine appointment - default if not valued'),
  followUp: concept(SYSTEMS.appointmentType, 'FOLLOWUP', 'A follow up visit from a previous appointment'),
  checkUp: concept(SYSTEMS.appointmentType, 'CHECKUP', 'A routine check-up, such as an annual physical'),
} as const;

export const CANCELLATION_REASONS: readonly CodeableConcept[] = [
  concept(SYSTEMS.cancellationReason, 'pat', 'Patient'),
  concept(SYSTEMS.cancellationReason, 'pat-fb', 'Patient: Feeling Better'),
  concept(SYSTEMS.cancellationReason, 'pat-lt', 'Patient: Lack of Transportation'),
  concept(SYSTEMS.cancellationReason, 'prov-pers', 'Provider: Personal'),
  concept(SYSTEMS.cancellationReason, 'oth-weath', 'Other: Weather'),
];

/** SNOMED CT outpatient encounter types (the ones Synthea uses), for adults and for children. */
export const ADULT_ENCOUNTER_TYPES: readonly CodeableConcept[] = [
  concept(SYSTEMS.snomed, '185349003', 'Encounter for check up (procedure)'),
  concept(SYSTEMS.snomed, '185345009', 'Encounter for symptom (procedure)'),
  concept(SYSTEMS.snomed, '390906007', 'Follow-up encounter (procedure)'),
];
export const CHILD_ENCOUNTER_TYPES: readonly CodeableConcept[] = [
  concept(SYSTEMS.snomed, '410620009', 'Well child visit (procedure)'),
  concept(SYSTEMS.snomed, '185345009', 'Encounter for symptom (procedure)'),
];

/** Free-text visit reasons, as schedulers type them. */
export const VISIT_REASONS: readonly string[] = [
  'Annual physical',
  'Follow-up: blood pressure',
  'Cough and fever',
  'Medication review',
  'Knee pain',
  'Diabetes check',
  'Rash',
  'Flu shot',
  'Lab results review',
  'Back pain',
  'Prenatal visit',
  'Well-child visit',
];
