/**
 * `continuum mappings explain|try`: a profile on one record, from a terminal. With `--file` it runs
 * here, on the profile folder, without a gateway; with a record id it asks a running gateway
 * (POST /v1/mappings/explain|try, scope mappings:write), which reads the record from its EHR and
 * records the access in its audit trail. Output shows record values: it is for the engineer's
 * terminal, not for logs.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { Config } from '../config/load-config';
import type { Resource } from '../domain/fhir';
import type {
  ExplainOutcome,
  TryChange,
  TryOutcome,
  WorkbenchResourceType,
} from '../domain/mapping-workbench';
import { createProfileWorkbench } from '../mapping/profile-workbench';
import { previewChange } from '../use-cases/try-change';
import { apiKey, call } from './ops-command';

export const MAPPINGS_USAGE = `Usage:
  continuum mappings test [--profile NAME]       run a mapping profile's fixtures
  continuum mappings explain --profile NAME (--patient ID | --appointment ID | --slot ID | --file F.json)
                             [--connection NAME]  each model field, its rule and value; why an empty one is empty
  continuum mappings try --profile NAME (--patient ID | --appointment ID | --file F.json) --change JSON
                             [--connection NAME]  the FHIR change a model change would send (nothing is sent)
  continuum mappings diff HASH_A HASH_B          what changed between two profile versions (a hash or its first 12 digits)
    --change for a patient: '{"phones": ["+16175550100"]}' (phones, email, address, preferredLanguage);
    for an appointment: '{"action": "cancel"|"convert"|"hold", "mode": "video", "reason": "..."}'
Options: --json for raw JSON; with an id, --url http://host:port (default http://127.0.0.1:$PORT or
  :8080) and --key KEY (default: $CONTINUUM_API_KEY, else the admin key file of this directory's gateway).`;

export interface MappingsCommandDeps {
  readonly readConfig: () => Config;
  readonly adminKeyFile: () => string | undefined;
  readonly out: (text: string) => void;
}

/** Usage mistakes: the caller prints usage and exits 2. */
export class MappingsUsageError extends Error {}

type Target = { resourceType: WorkbenchResourceType; id: string } | { resource: Resource };

export async function mappingsCommand(args: string[], deps: MappingsCommandDeps): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: {
      profile: { type: 'string' },
      patient: { type: 'string' },
      appointment: { type: 'string' },
      slot: { type: 'string' },
      file: { type: 'string' },
      connection: { type: 'string' },
      change: { type: 'string' },
      url: { type: 'string', default: `http://127.0.0.1:${process.env.PORT ?? '8080'}` },
      key: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  const [action, ...extra] = positionals;
  if ((action !== 'explain' && action !== 'try') || extra.length > 0) {
    throw new MappingsUsageError('mappings needs explain or try');
  }
  const profile = values.profile;
  if (profile === undefined) throw new MappingsUsageError('--profile is required');
  const targets = [
    values.patient !== undefined ? { resourceType: 'Patient' as const, id: values.patient } : undefined,
    values.appointment !== undefined
      ? { resourceType: 'Appointment' as const, id: values.appointment }
      : undefined,
    values.slot !== undefined ? { resourceType: 'Slot' as const, id: values.slot } : undefined,
    values.file !== undefined ? { resource: readResource(values.file) } : undefined,
  ].filter((target) => target !== undefined);
  const target: Target | undefined = targets[0];
  if (target === undefined || targets.length > 1) {
    throw new MappingsUsageError('name one record: --patient, --appointment, --slot or --file');
  }
  const resourceType = 'resource' in target ? target.resource.resourceType : target.resourceType;
  if (!['Patient', 'Appointment', 'Slot'].includes(resourceType)) {
    throw new MappingsUsageError(`--file must hold a Patient, Appointment or Slot, not a ${resourceType}`);
  }
  const print = (value: unknown, text: () => string): void => {
    deps.out(`${values.json ? JSON.stringify(value, null, 2) : text()}\n`);
  };
  const remote = async (path: string, body: Record<string, unknown>): Promise<unknown> => {
    const key = apiKey(values.key, deps.adminKeyFile);
    return call('POST', `${values.url.replace(/\/+$/, '')}${path}`, key, {
      profile,
      ...(values.connection !== undefined ? { connection: values.connection } : {}),
      ...body,
    });
  };

  if (action === 'explain') {
    const outcome =
      'resource' in target
        ? await localWorkbench(deps).explain(
            { name: profile, edits: [] },
            resourceType as WorkbenchResourceType,
            target.resource,
          )
        : ((await remote('/v1/mappings/explain', { resourceType, id: target.id })) as ExplainOutcome);
    print(outcome, () => explainText(outcome));
    return;
  }

  if (values.change === undefined) throw new MappingsUsageError('try needs --change JSON');
  if (resourceType === 'Slot') throw new MappingsUsageError('try takes a patient or an appointment');
  const change = parseChange(values.change);
  if ('resource' in target) {
    const outcome = await tryLocally(deps, profile, target.resource, resourceType, change);
    print(outcome, () => tryText(outcome));
    return;
  }
  const outcome = (await remote('/v1/mappings/try', { resourceType, id: target.id, change })) as TryOutcome;
  print(outcome, () => tryText(outcome));
}

function localWorkbench(deps: MappingsCommandDeps) {
  const config = deps.readConfig();
  return createProfileWorkbench({
    mappingsDir: config.mappingsDir,
    defaultRegion: config.phone.defaultRegion,
  });
}

/** A try on a record from a file: the same preview as the gateway's, without If-Match capabilities. */
async function tryLocally(
  deps: MappingsCommandDeps,
  profile: string,
  resource: Resource,
  resourceType: string,
  change: Record<string, unknown>,
): Promise<TryOutcome> {
  const resolved = await localWorkbench(deps).resolve({ name: profile, edits: [] });
  const wanted: TryChange =
    resourceType === 'Patient'
      ? { resourceType: 'Patient', changes: change }
      : {
          resourceType: 'Appointment',
          ...(change as Omit<Extract<TryChange, { resourceType: 'Appointment' }>, 'resourceType'>),
        };
  const preview = await previewChange(resolved.profile, resource, wanted);
  const version = resource.meta?.versionId;
  return {
    profile: resolved.used,
    before: resource,
    after: preview.after,
    diff: preview.diff,
    request:
      preview.after !== undefined && preview.diff.length > 0
        ? {
            method: 'PUT',
            url: `${resource.resourceType}/${resource.id ?? ''}`,
            headers: version === undefined ? {} : { 'If-Match': `W/"${version}"` },
          }
        : undefined,
    problems: [...resolved.problems, ...preview.problems],
  };
}

function readResource(path: string): Resource {
  const parsed = JSON.parse(readFileSync(path, 'utf8')) as unknown;
  if (
    typeof parsed !== 'object' ||
    parsed === null ||
    typeof (parsed as Resource).resourceType !== 'string'
  ) {
    throw new MappingsUsageError(`${path} holds no FHIR resource`);
  }
  return parsed as Resource;
}

function parseChange(text: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new MappingsUsageError(
      `--change is not JSON: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new MappingsUsageError('--change must be a JSON object');
  }
  return parsed as Record<string, unknown>;
}

/** `mrn  <- patient.yaml read.mrn  = (no value: <reason>)`, one line per field, aligned. */
export function explainText(outcome: ExplainOutcome): string {
  const width = Math.max(...outcome.fields.map((field) => field.field.length));
  const source = Math.max(...outcome.fields.map((field) => `${field.file} ${field.rule}`.length));
  const edited = outcome.profile.edited ? ', edited' : '';
  const lines = [
    `profile ${outcome.profile.name} (${outcome.profile.hash.slice(0, 12)}${edited}) on ${outcome.resource.resourceType}/${outcome.resource.id ?? ''}`,
    ...outcome.fields.map(
      (field) =>
        `${field.field.padEnd(width)}  <- ${`${field.file} ${field.rule}`.padEnd(source)}  = ${
          field.empty
            ? `(no value: ${field.reason ?? 'the rule gives nothing'})`
            : JSON.stringify(field.value)
        }`,
    ),
    ...outcome.problems.map((problem) => `problem: ${problem.file} ${problem.field}: ${problem.message}`),
  ];
  return lines.join('\n');
}

export function tryText(outcome: TryOutcome): string {
  const show = (value: unknown): string => JSON.stringify(value);
  const steps = outcome.diff.map((step) => {
    if (step.op === 'add') return `add      ${step.path}: ${show(step.value)}`;
    if (step.op === 'remove') return `remove   ${step.path}: ${show(step.from)}`;
    return `replace  ${step.path}: ${show(step.from)} -> ${show(step.value)}`;
  });
  const request = outcome.request;
  return [
    `profile ${outcome.profile.name} (${outcome.profile.hash.slice(0, 12)}) on ${outcome.before.resourceType}/${outcome.before.id ?? ''}`,
    ...(steps.length > 0 ? steps : ['(no change)']),
    ...(request !== undefined
      ? [
          `would send: ${request.method} ${request.url}${request.headers['If-Match'] !== undefined ? ` If-Match: ${request.headers['If-Match']}` : ''} (not sent)`,
        ]
      : []),
    ...outcome.problems.map((problem) => `problem: ${problem.file} ${problem.field}: ${problem.message}`),
  ].join('\n');
}
