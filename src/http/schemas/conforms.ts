/**
 * A type-level check that what a route sends fits its documented response schema: the domain
 * value, once serialized, must be one the schema accepts. Arrays and objects compare read-only,
 * since domain types are read-only and zod's outputs are not.
 */
import type { z } from 'zod';

type DeepReadonly<T> = T extends readonly (infer Item)[]
  ? readonly DeepReadonly<Item>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;

/** `true` when every `Domain` value is a value of `Schema`'s output; `never` otherwise. */
export type Conforms<Domain, Schema extends z.ZodType> =
  Domain extends DeepReadonly<z.output<Schema>> ? true : never;
