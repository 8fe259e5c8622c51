import { parseDocument } from 'yaml';
import type { z } from 'zod';
import type { MappingProblem } from './mapping-profile-error';

export type ParseResult<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly problems: MappingProblem[] };

/** Parse one YAML file of the profile and check it against its schema; every problem names its field. */
export function parseProfileFile<T>(
  label: string,
  content: Buffer | undefined,
  schema: z.ZodType<T>,
): ParseResult<T> {
  if (content === undefined) return failure({ file: label, field: '', message: 'file not found' });
  const document = parseDocument(content.toString('utf8'), { prettyErrors: true });
  if (document.errors.length > 0) {
    return {
      ok: false,
      problems: document.errors.map((error) => {
        // The pretty message is "<reason> at line L, column C:" followed by an excerpt of the file.
        const reason = (error.message.split('\n')[0] ?? error.message).replace(/:$/, '');
        return { file: label, field: '', message: `not valid YAML: ${reason}` };
      }),
    };
  }
  const parsed = schema.safeParse(document.toJS(), {
    error: (issue) =>
      issue.code === 'invalid_type' && issue.input === undefined ? 'is required' : undefined,
  });
  if (parsed.success) return { ok: true, value: parsed.data };
  return {
    ok: false,
    problems: parsed.error.issues.flatMap((issue) =>
      issue.code === 'unrecognized_keys'
        ? issue.keys.map((key) => ({
            file: label,
            field: fieldPath([...issue.path, key]),
            message: 'is not a known setting',
          }))
        : [{ file: label, field: fieldPath(issue.path), message: issue.message }],
    ),
  };
}

function failure(problem: MappingProblem): { ok: false; problems: MappingProblem[] } {
  return { ok: false, problems: [problem] };
}

/** `read.name.given`, `identifiers.mrn.systems[0]`; the whole file is `(file)`. */
export function fieldPath(path: readonly PropertyKey[]): string {
  const text = path.reduce<string>((joined, part) => {
    if (typeof part === 'number') return `${joined}[${part}]`;
    const name = String(part);
    return joined === '' ? name : `${joined}.${name}`;
  }, '');
  return text === '' ? '(file)' : text;
}
