/** The answers of the mapping workbench (/v1/mappings/*); for the OpenAPI document and tests only. */
import { z } from 'zod';
import type {
  EvaluateOutcome,
  ExplainedField,
  PatchStep,
  ProfileDetail,
  ProfileUsed,
  WorkbenchProblem,
} from '../../domain/mapping-workbench';
import type { Conforms } from './conforms';

const problem = z.object({
  file: z.string().describe('The profile file, e.g. `patient.yaml`'),
  field: z.string().describe('The rule in it, e.g. `read.mrn`; empty for the whole file'),
  message: z.string(),
});

const profileUsed = z
  .object({ name: z.string(), hash: z.string(), edited: z.boolean() })
  .describe('The profile the answer used: the files on disk, with the edits when `edited`');

const fhirResource = z.looseObject({ resourceType: z.string() });

export const explainedFieldSchema = z.object({
  field: z.string().describe('The model field, e.g. `mrn`, `name.given`'),
  file: z.string(),
  rule: z.string().describe('e.g. `read.mrn`'),
  language: z.enum(['fhirpath', 'jsonata']),
  expression: z.string(),
  value: z.unknown().describe('What the model holds for the field on this record'),
  empty: z.boolean(),
  reason: z
    .string()
    .optional()
    .describe('For an empty field: what the record has against what the rule asks'),
  walked: z
    .array(z.object({ path: z.string(), present: z.number().int() }))
    .optional()
    .describe('For an empty field: the elements the rule walks and how many the record has'),
});

export const explainSchema = z.object({
  profile: profileUsed,
  resource: fhirResource,
  fields: z.array(explainedFieldSchema),
  problems: z
    .array(problem)
    .describe('Problems of the edits; the fields are then those of the profile as it is'),
});

const patchStep = z.object({
  op: z.enum(['add', 'remove', 'replace']),
  path: z.string().describe('JSON Pointer, e.g. `/telecom/0/value`'),
  from: z.unknown().optional().describe('The value replaced or removed'),
  value: z.unknown().optional(),
});

export const trySchema = z.object({
  profile: profileUsed,
  before: fhirResource,
  after: fhirResource.optional().describe('Absent when the profile fails on the change (see problems)'),
  diff: z.array(patchStep),
  request: z
    .object({
      method: z.enum(['PUT', 'PATCH']),
      url: z.string().describe('Relative to the EHR base, e.g. `Patient/pat-0001`'),
      headers: z.object({ 'If-Match': z.string().optional() }),
    })
    .optional()
    .describe('What a worker would send; absent when nothing would change. Nothing is sent.'),
  problems: z.array(problem),
});

export const evaluateSchema = z.object({
  result: z.unknown(),
  error: z
    .object({ message: z.string(), line: z.number().int().optional(), column: z.number().int().optional() })
    .optional(),
});

export const profileListSchema = z.object({
  profiles: z.array(
    z.object({
      name: z.string(),
      draft: z
        .boolean()
        .describe("A profile folder no connection runs: tried with records of the tenant's connections"),
      hash: z.string().optional().describe('The running version; absent for a draft'),
      since: z.string().nullable(),
      filesHash: z.string().describe('The files on disk; differs from `hash` until a reload'),
      connections: z.array(z.string()),
      files: z.array(z.string()),
      fixtures: z.record(z.string(), z.number().int()),
    }),
  ),
  lastReload: z.looseObject({}).nullable(),
  emptyFields: z.array(z.looseObject({})),
});

export const profileDetailSchema = z.object({
  name: z.string(),
  hash: z.string(),
  files: z.record(z.string(), z.string()).describe('The YAML files by path (not the fixtures)'),
  rules: z.array(
    z.object({
      file: z.string(),
      field: z.string(),
      language: z.enum(['fhirpath', 'jsonata']),
      source: z.string(),
    }),
  ),
  settings: z
    .array(z.object({ file: z.string(), field: z.string(), source: z.string() }))
    .describe('profile.yaml constants editable like rules: `identifiers.mrn.systems`, one system a line'),
  fixtures: z.array(z.object({ kind: z.string(), name: z.string() })),
});

export const fixtureSavedSchema = z.object({
  path: z.string().describe('e.g. `fixtures/read/pat-0001.json`'),
});

export const rulesSavedSchema = z.object({
  written: z.array(z.string()),
  hash: z.string().describe('The hash of the files now; a reload makes it the running version'),
});

export const workbenchConforms: [
  Conforms<WorkbenchProblem, typeof problem>,
  Conforms<ProfileUsed, typeof profileUsed>,
  Conforms<ExplainedField, typeof explainedFieldSchema>,
  Conforms<PatchStep, typeof patchStep>,
  Conforms<EvaluateOutcome, typeof evaluateSchema>,
  Conforms<ProfileDetail, typeof profileDetailSchema>,
] = [true, true, true, true, true, true];
