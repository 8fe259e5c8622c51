/**
 * Turns the character offsets JSONata and JSON.parse report into the line and column a person
 * looks for in the template or fixture they are editing.
 */
export interface SourcePosition {
  readonly line: number;
  readonly column: number;
}

/** Line and column (both from 1) of the character at `offset` (from 0) in `text`. */
export function positionAt(text: string, offset: number): SourcePosition {
  const clamped = Math.max(0, Math.min(offset, text.length));
  const before = text.slice(0, clamped);
  const lastBreak = before.lastIndexOf('\n');
  return { line: before.split('\n').length, column: clamped - lastBreak };
}

/**
 * JSONata's errors are plain objects whose `position` counts the characters read up to the end of
 * the offending token; the line and column given are those of that token's last character.
 */
export function jsonataPosition(error: unknown, source: string): SourcePosition | undefined {
  const position = (error as { position?: unknown } | null)?.position;
  if (typeof position !== 'number' || !Number.isFinite(position)) return undefined;
  return positionAt(source, Math.max(0, position - 1));
}

/** The message of anything thrown: JSONata throws objects that are not Errors but have a `message`. */
export function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  const message = (error as { message?: unknown } | null)?.message;
  return typeof message === 'string' ? message : String(error);
}

/** `JSON.parse`'s "... at position 42" with the line and column of that position added. */
export function jsonParseMessage(error: unknown, text: string): string {
  // Node 22 adds its own "(line 3 column 1)"; Node 20 does not: one form whichever runs.
  const message = messageOf(error).replace(/ \(line \d+ column \d+\)$/, '');
  const match = /at position (\d+)/.exec(message);
  if (match?.[1] === undefined || /line \d+/.test(message)) return message;
  const { line, column } = positionAt(text, Number(match[1]));
  return `${message} (line ${line}, column ${column})`;
}
