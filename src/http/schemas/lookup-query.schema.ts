/** The query of GET /v1/patients/lookup: the caller's number, in any common format. */
import { z } from 'zod';
import { phoneSchema, type CountryCode } from '../../phone';

/** Numbers without a country code are read in `region`, the EHR connection's. */
export function lookupQuerySchema(region: CountryCode) {
  return z.object({ phone: phoneSchema(region) });
}
