/** The sandbox EHR: a seeded, in-memory FHIR R4 server (Medplum's FhirRouter) served over HTTP. */
export type { SandboxEhr, SandboxEhrOptions } from './sandbox-ehr';
export { createSandboxEhr } from './sandbox-ehr';
export type { SandboxServer } from './sandbox-server';
export { SANDBOX_ADMIN_PATH, SANDBOX_FHIR_PATH, startSandboxServer } from './sandbox-server';
export { createSandboxAdminRouter } from './admin-router';
export type { AssertionAlgorithm, SandboxAuthMode, SandboxAuthOptions } from './auth-options';
export {
  ASSERTION_ALGORITHMS,
  DEFAULT_GRANTABLE_SCOPES,
  DEFAULT_TOKEN_LIFETIME_SECONDS,
} from './auth-options';
export type {
  SandboxAuthChange,
  SandboxAuthControl,
  SandboxAuthCounters,
  SandboxAuthState,
} from './sandbox-auth';
export { SANDBOX_AUTH_PATH, SANDBOX_TOKEN_PATH } from './token-endpoint';
export { grantScopes } from './smart-scopes';
export type { CapacityMode, FaultKind, FaultMode, FaultModeInput, FaultFieldProblem } from './fault-mode';
export type { CapacityControl, CapacityState } from './capacity-gate';
export type { CapacityWindowReport } from './capacity-window';
export type { LatencySummary } from './latency-histogram';
export { FaultModeError, faultModeSchema, parseFaultMode } from './fault-mode';
export type { FaultControl, FaultCounters, FaultPeriod, FaultState } from './fault-switch';
export { FAULT_SPEC_FORMS, FaultSpecError, parseFaultSpec } from './fault-spec';
export type { SandboxRouterOptions } from './sandbox-router';
export { createSandboxRouter } from './sandbox-router';
export { SandboxRepository } from './sandbox-repository';
export type { SeedOptions, SeedResult } from './seed';
export { CLINIC_TIME_ZONE, DEFAULT_PATIENT_COUNT, SCHEDULE_DAYS, buildSeedData, seedSandbox } from './seed';
export { SYSTEMS as SANDBOX_SYSTEMS } from './seed-codes';
export { PHONE_FORMATS } from './seed-phones';
export type { PhoneFormat } from './seed-phones';
export { ensureFhirSchemaIndexed } from './fhir-schema';
export type { SandboxLogger } from './types';
