import { ContinuumError } from '../domain/errors';

/**
 * A profile expression or template failed on a resource. The detail names the profile and the field only:
 * the underlying message may quote patient data, so it stays in `cause`, which is never rendered.
 */
export class MappingEvaluationError extends ContinuumError {
  /** The field in the profile, e.g. `write.address.template`. */
  readonly field: string;

  constructor(profile: string, field: string, cause: unknown) {
    super('INTERNAL', { detail: `mapping profile ${profile}: ${field} failed on this resource`, cause });
    this.name = 'MappingEvaluationError';
    this.field = field;
  }
}
