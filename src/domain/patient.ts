/** The call-center model of a patient: what agents' tools read and write. */
export interface PatientName {
  readonly given: readonly string[];
  readonly family: string | undefined;
  readonly text?: string | undefined;
}

export interface PostalAddress {
  readonly line: readonly string[];
  readonly city: string | undefined;
  readonly state: string | undefined;
  readonly postalCode: string | undefined;
  readonly country: string | undefined;
}

export interface PatientModel {
  readonly id: string;
  /** The EHR's version of the record this model was read from (FHIR meta.versionId). */
  readonly version: string | undefined;
  readonly mrn: string | undefined;
  readonly name: PatientName;
  readonly birthDate: string | undefined;
  readonly gender: string | undefined;
  /** E.164 numbers, the ones a tool may dial. */
  readonly phones: readonly string[];
  /**
   * Numbers the record holds that are not valid numbers (a typo, a test number, a cut-off
   * extension), exactly as written, for an agent to read and correct; never dialled, never indexed.
   * Absent when there are none.
   */
  readonly undialablePhones?: readonly string[];
  readonly email: string | undefined;
  readonly address: PostalAddress | undefined;
  readonly preferredLanguage: string | undefined;
}

/**
 * A correction an agent may make to demographics (PATCH /v1/patients/:id). Absent fields are
 * left alone; `phones` replaces the patient's phone numbers; null clears email or address.
 */
export interface PatientChanges {
  /** E.164 only: numbers are read once, where they enter the API. */
  readonly phones?: readonly string[];
  readonly email?: string | null;
  readonly address?: PostalAddress | null;
  readonly preferredLanguage?: string | null;
}

export type PatientChangeField = keyof PatientChanges;

/** A registration (POST /v1/patients): who the caller is, plus the contact details to store. */
export interface NewPatient extends PatientChanges {
  readonly name: { readonly given: readonly string[]; readonly family: string };
  readonly birthDate: string;
  readonly gender: 'male' | 'female' | 'other' | 'unknown' | undefined;
  readonly mrn: string | undefined;
}
