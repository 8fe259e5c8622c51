import type { Patient } from '../domain/fhir';
import type { PatientModel, PatientName, PostalAddress } from '../domain/patient';
import type { PhoneNormalizer } from '../phone';
import type { FhirPathExpression } from './fhirpath-expression';

/** The `read:` section compiled: one expression per model field; `from` picks the name/address element. */
export interface PatientReadSpec {
  readonly id: FhirPathExpression;
  readonly version: FhirPathExpression;
  readonly mrn: FhirPathExpression;
  readonly name: {
    readonly from: FhirPathExpression;
    readonly given: FhirPathExpression;
    readonly family: FhirPathExpression;
    readonly text: FhirPathExpression | undefined;
  };
  readonly birthDate: FhirPathExpression;
  readonly gender: FhirPathExpression;
  readonly phones: FhirPathExpression;
  readonly email: FhirPathExpression;
  readonly address: {
    readonly from: FhirPathExpression;
    readonly line: FhirPathExpression;
    readonly city: FhirPathExpression;
    readonly state: FhirPathExpression;
    readonly postalCode: FhirPathExpression;
    readonly country: FhirPathExpression;
  };
  readonly preferredLanguage: FhirPathExpression;
}

/**
 * Evaluates one field; the caller turns a failure into an error naming the field (never the data).
 * Each evaluation is labelled with the field's path in the profile (`read.name.given`).
 */
export type Evaluate = (field: string, expression: FhirPathExpression, focus: unknown) => unknown[];

export function readPatientWith(
  spec: PatientReadSpec,
  toE164: PhoneNormalizer,
  evaluate: Evaluate,
  resource: Patient,
): PatientModel {
  const first = (
    field: string,
    expression: FhirPathExpression,
    focus: unknown = resource,
  ): string | undefined => texts(evaluate(`read.${field}`, expression, focus))[0];
  const all = (field: string, expression: FhirPathExpression, focus: unknown = resource): string[] =>
    texts(evaluate(`read.${field}`, expression, focus));

  const nameElement = evaluate('read.name.from', spec.name.from, resource).find(isObject);
  const name: PatientName =
    nameElement === undefined
      ? { given: [], family: undefined }
      : {
          given: all('name.given', spec.name.given, nameElement),
          family: first('name.family', spec.name.family, nameElement),
          ...optionalText(spec.name.text && first('name.text', spec.name.text, nameElement)),
        };

  const addressElement = evaluate('read.address.from', spec.address.from, resource).find(isObject);
  const address: PostalAddress | undefined =
    addressElement === undefined
      ? undefined
      : {
          line: all('address.line', spec.address.line, addressElement),
          city: first('address.city', spec.address.city, addressElement),
          state: first('address.state', spec.address.state, addressElement),
          postalCode: first('address.postalCode', spec.address.postalCode, addressElement),
          country: first('address.country', spec.address.country, addressElement),
        };

  return {
    id: first('id', spec.id) ?? '',
    version: first('version', spec.version),
    mrn: first('mrn', spec.mrn),
    name,
    birthDate: first('birthDate', spec.birthDate),
    gender: first('gender', spec.gender),
    ...readAllPhonesWith(spec, toE164, evaluate, resource),
    email: first('email', spec.email),
    address,
    preferredLanguage: first('preferredLanguage', spec.preferredLanguage),
  };
}

/**
 * The patient's numbers in E.164 alone: what the phone index needs after every read and write,
 * without mapping the whole patient.
 */
export function readPhonesWith(
  spec: PatientReadSpec,
  toE164: PhoneNormalizer,
  evaluate: Evaluate,
  resource: Patient,
): string[] {
  const raw = texts(evaluate('read.phones', spec.phones, resource));
  return [...new Set(raw.flatMap((value) => toE164(value) ?? []))];
}

/**
 * Every number the record holds, split: the valid ones in E.164 (`phones`), the others as written
 * (`undialablePhones`, only when there are some). A bad number is information for the agent, never
 * a reason to fail the read.
 */
function readAllPhonesWith(
  spec: PatientReadSpec,
  toE164: PhoneNormalizer,
  evaluate: Evaluate,
  resource: Patient,
): Pick<PatientModel, 'phones' | 'undialablePhones'> {
  const phones = new Set<string>();
  const undialable = new Set<string>();
  for (const value of texts(evaluate('read.phones', spec.phones, resource))) {
    const e164 = toE164(value);
    if (e164 !== undefined) phones.add(e164);
    else if (value.trim() !== '') undialable.add(value.trim());
  }
  return undialable.size === 0
    ? { phones: [...phones] }
    : { phones: [...phones], undialablePhones: [...undialable] };
}

/** Model fields are text: numbers and booleans are written out, objects (a mapping mistake) are skipped. */
function texts(values: readonly unknown[]): string[] {
  return values.flatMap((value) => {
    if (typeof value === 'string') return [value];
    if (typeof value === 'number' || typeof value === 'boolean') return [String(value)];
    return [];
  });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function optionalText(text: string | undefined): { text?: string } {
  return text === undefined ? {} : { text };
}
