import { z } from 'zod';
import { FHIR_ID } from '../../domain/fhir';

/** A FHIR resource id in a request body. */
export const fhirId = z.string('must be a string').regex(FHIR_ID, 'is not a valid FHIR id');
