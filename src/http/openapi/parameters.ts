/** Path, query and header parameters from the zod objects that validate them. */
import { z } from 'zod';
import { tidySchema } from './tidy-schema';

export type ParameterLocation = 'path' | 'query' | 'header';

export interface Parameter {
  readonly name: string;
  readonly in: ParameterLocation;
  readonly required: boolean;
  readonly description?: string;
  readonly schema: Record<string, unknown>;
}

/** A field's JSON Schema as a request sends it, without the keys a parameter does not carry. */
export function inputJsonSchema(schema: z.ZodType): Record<string, unknown> {
  const converted = z.toJSONSchema(schema, {
    target: 'draft-2020-12',
    io: 'input',
    unrepresentable: 'any',
  }) as Record<string, unknown>;
  const { $schema: _dialect, ...rest } = converted;
  return tidySchema(rest);
}

export function parametersOf(object: z.ZodObject | undefined, where: ParameterLocation): Parameter[] {
  if (object === undefined) return [];
  return Object.entries(object.shape).map(([name, field]: [string, z.ZodType]) => {
    const { description, ...schema } = inputJsonSchema(field);
    return {
      name,
      in: where,
      // A path parameter is always required; a field with a default may be left out.
      required: where === 'path' || !field.safeParse(undefined).success,
      ...(typeof description === 'string' ? { description } : {}),
      schema,
    };
  });
}
