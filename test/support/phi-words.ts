/**
 * Which of `values` (names, birth dates, phone numbers, identifiers) `text` holds as whole words. A
 * family name such as "Chan" is also the start of "Changed" in a report or a log line: a plain
 * substring check fails on the word, not on a patient's data.
 */
export function phiFound(text: string, values: readonly (string | undefined)[]): string[] {
  return values.filter((value): value is string => {
    if (value === undefined || value.trim() === '') return false;
    const escaped = value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    return new RegExp(`(?<![\\p{L}\\p{N}])${escaped}(?![\\p{L}\\p{N}])`, 'u').test(text);
  });
}
