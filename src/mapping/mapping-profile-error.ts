/** One thing wrong with a profile: the file, the field inside it (dotted path) and what is wrong. */
export interface MappingProblem {
  readonly file: string;
  readonly field: string;
  readonly message: string;
}

/** A profile that cannot be used; start-up stops with every problem listed, one a line. */
export class MappingProfileError extends Error {
  readonly problems: readonly MappingProblem[];

  constructor(problems: readonly MappingProblem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.name = 'MappingProfileError';
    this.problems = problems;
  }
}

export function formatProblem(problem: MappingProblem): string {
  return problem.field === ''
    ? `${problem.file}: ${problem.message}`
    : `${problem.file}: ${problem.field}: ${problem.message}`;
}
