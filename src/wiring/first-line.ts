/** The first line of an error's message: enough for a log or a problem list, never a stack. */
export function firstLineOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0] ?? '';
}
