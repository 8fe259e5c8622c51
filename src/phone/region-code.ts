import { isSupportedCountry } from 'libphonenumber-js/max';
import { z } from 'zod';

/**
 * A region code (ISO 3166-1 alpha-2) that libphonenumber has a numbering plan for, typed as its
 * `CountryCode`: checked against the library's own list, so a region that passes here can be used
 * for parsing without a cast.
 */
export const regionCodeSchema = z
  .string('must be a string')
  .refine(isSupportedCountry, 'is not a region code libphonenumber knows (ISO 3166-1 alpha-2, e.g. US)');
