export type { MappingProfile } from '../domain/mapping-profile';
export { loadMappingProfile } from './load-mapping-profile';
export type { LoadMappingProfileOptions } from './load-mapping-profile';
export { MappingProfileError, formatProblem } from './mapping-profile-error';
export type { MappingProblem } from './mapping-profile-error';
export { MappingEvaluationError } from './mapping-evaluation-error';
export { runProfileFixtures } from './profile-fixtures';
export type { FixtureResult } from './profile-fixtures';
