import { z } from 'zod';
import { normalizePhone, type CountryCode } from './normalize-phone';

/**
 * A phone number as an agent or an IVR sends it (any common format), read with the region of the
 * EHR connection it is for, and given on as E.164. Every number enters through this one schema, so
 * what the API accepts is exactly what the mapping profile can store: a number it cannot read is a
 * 400 before anything is queued, not a failure in the worker after the caller was told 202.
 * Messages never echo the number.
 */
export function phoneSchema(region: CountryCode) {
  return z
    .string({ error: (issue) => (issue.input === undefined ? 'is required' : 'must be a string') })
    .transform((value, ctx) => {
      const e164 = normalizePhone(value, region);
      if (e164 === undefined) {
        ctx.addIssue({ code: 'custom', message: 'is not a valid phone number' });
        return z.NEVER;
      }
      return e164;
    })
    .describe("A phone number in any common format, read in the EHR connection's region");
}
