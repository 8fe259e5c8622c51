/**
 * A cancellation reason (cancel, reschedule, convert, hold, site closure) must be one the EHR's
 * mapping profile codes. Checked when the change is accepted, so a caller hears at once which
 * reasons there are, and nothing reaches the queue that would have to be sent as a made-up code.
 */
import { ContinuumError } from './errors';
import type { MappingProfile } from './mapping-profile';

type ReasonTable = Pick<MappingProfile, 'name' | 'cancellationReasons' | 'cancellationReasonOf'>;

/**
 * The call-center value to record for `given` (one of the EHR's own codes is taken as the value it
 * maps to); undefined when none was given. Anything else is 422 VALIDATION listing the accepted
 * reasons: the request is well formed, the value is simply not one this EHR knows.
 */
export function acceptedCancellationReason(
  mapping: ReasonTable,
  given: string | undefined,
  field = 'reason',
): string | undefined {
  if (given === undefined) return undefined;
  const value = mapping.cancellationReasonOf(given);
  if (value !== undefined) return value;
  throw unknownCancellationReason(mapping, field);
}

function unknownCancellationReason(mapping: ReasonTable, field: string): ContinuumError {
  const accepted = mapping.cancellationReasons;
  // The value sent is not repeated: a free-text reason may carry anything, a name included.
  const message =
    accepted.length === 0
      ? `mapping profile ${mapping.name} codes no cancellation reason: send none`
      : `is not a cancellation reason of mapping profile ${mapping.name}; accepted: ${accepted.join(', ')}`;
  return new ContinuumError('VALIDATION', {
    status: 422,
    detail: `${field}: ${message}`,
    extra: {
      errors: [
        {
          field,
          message:
            accepted.length === 0
              ? 'must be left out'
              : 'is not one of the accepted reasons (acceptedReasons)',
        },
      ],
      acceptedReasons: [...accepted],
    },
  });
}
