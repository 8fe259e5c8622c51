export { createPhoneNormalizer, normalizePhone, parseValidPhone } from './normalize-phone';
export type { PhoneNormalizer } from './normalize-phone';
export type { CountryCode } from './normalize-phone';
export {
  createPhoneSearchValue,
  createPhoneSearchValues,
  phoneSearchVariants,
} from './phone-search-variants';
export { escapeFhirSearchValue, fhirSearchAlternatives } from './fhir-search-escape';
export { phoneSchema } from './phone-schema';
export { regionCodeSchema } from './region-code';
export { isE164 } from './e164';
