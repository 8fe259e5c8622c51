import { MappingFailedError } from '../domain/failure-policy';
import { jsonataPosition, type SourcePosition } from './source-position';

/** The profile file that holds a rule, from the rule's first name (`write.phones.template` -> patient.yaml). */
function profileFileOf(field: string): string {
  const head = field.split('.')[0] ?? '';
  if (['read', 'write', 'create'].includes(head)) return 'patient.yaml';
  if (['book', 'appointment'].includes(head)) return 'appointment.yaml';
  if (['slot', 'schedule'].includes(head)) return 'slot.yaml';
  if (['encounter', 'communication', 'callback'].includes(head)) return 'call.yaml';
  return 'profile.yaml';
}

/** The class of what a rule threw, without its message: messages may quote the record's values. */
function errorClassOf(cause: unknown): string {
  if (cause === null || typeof cause !== 'object') return typeof cause;
  const { code, name } = cause as { code?: unknown; name?: unknown };
  // JSONata throws plain objects with a stable code (T2002: an operand of the wrong type).
  if (typeof code === 'string' && /^[A-Z]\d{4}$/.test(code)) return `JSONata ${code}`;
  if (typeof name === 'string' && name !== '') return name;
  return cause.constructor.name;
}

const MAX_EXPRESSION_CHARS = 500;

/**
 * A profile expression or template failed on a resource. Deterministic: the same record fails the
 * same way, so the write goes to review instead of being retried. The detail names the profile,
 * file, rule and error class only: the underlying message may quote patient data, so it stays in
 * `cause`, which is never rendered nor logged.
 */
export class MappingEvaluationError extends MappingFailedError {
  /** The field in the profile, e.g. `write.address.template`. */
  readonly field: string;
  /** Where in the template JSONata stopped (no values: safe to show wherever the field is shown). */
  readonly position: SourcePosition | undefined;

  constructor(profile: string, field: string, cause: unknown, expression?: string) {
    super(
      {
        profile,
        file: profileFileOf(field),
        field,
        ...(expression !== undefined ? { expression: expression.slice(0, MAX_EXPRESSION_CHARS) } : {}),
        errorClass: errorClassOf(cause),
      },
      cause,
    );
    this.name = 'MappingEvaluationError';
    this.field = field;
    this.position = expression === undefined ? undefined : jsonataPosition(cause, expression);
  }
}
