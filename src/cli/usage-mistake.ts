/**
 * What a command prints on stderr for a mistake in its command line: the problem, then its whole
 * usage, as `continuum` itself does, so the right spelling is on screen rather than behind --help.
 */
export function usageMistake(problem: string, usage: string): string {
  return `continuum: ${problem}\n${usage}\n`;
}
