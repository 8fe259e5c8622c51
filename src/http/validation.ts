/** zod issues -> our VALIDATION problem, naming each field and never echoing its value. */
import type { z } from 'zod';
import { validationError, type ContinuumError } from '../domain/errors';

export function fieldPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((acc, part) => {
    if (typeof part === 'number') return `${acc}[${part}]`;
    return acc === '' ? String(part) : `${acc}.${String(part)}`;
  }, '');
}

/**
 * `unknownField` is what an unknown key is told, in the words of the route's own body ("is not a
 * field of a call log"): one sentence for every route would read wrong on most of them.
 */
export function zodToValidationError(error: z.ZodError, unknownField: string): ContinuumError {
  return validationError(
    error.issues.flatMap((issue) => {
      if (issue.code === 'unrecognized_keys') {
        return issue.keys.map((key) => ({ field: fieldPath([...issue.path, key]), message: unknownField }));
      }
      return [{ field: fieldPath(issue.path) || '(body)', message: issue.message }];
    }),
  );
}
