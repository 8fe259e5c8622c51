/**
 * The mapping workbench: what an integration engineer asks of a profile on a real record. Explain
 * shows each model field with the rule that produced it and, when empty, why; try shows the FHIR
 * change a model change would send, without sending it; edits are unsaved rule changes tried on the
 * fly. Answers quote record values: they are for the audited engineer view, never for logs.
 */
import type { AppointmentMode } from './appointment';
import type { Resource, Schedule } from './fhir';
import type { FixtureKind } from './fixture-kinds';
import type { MappingProfile } from './mapping-profile';
import type { PatientChanges } from './patient';

export const WORKBENCH_RESOURCE_TYPES = ['Patient', 'Appointment', 'Slot'] as const;
export type WorkbenchResourceType = (typeof WORKBENCH_RESOURCE_TYPES)[number];

export const RULE_LANGUAGES = ['fhirpath', 'jsonata'] as const;
export type RuleLanguage = (typeof RULE_LANGUAGES)[number];

/**
 * An unsaved change to one rule: `field` is its dotted path in the file, e.g. `read.mrn`; or to a
 * profile.yaml setting (`identifiers.mrn.systems`: a JSON array or one system a line).
 */
export interface RuleEdit {
  readonly file: string;
  readonly field: string;
  readonly source: string;
}

/** A profile.yaml constant as text the workbench edits, e.g. `identifiers.mrn.systems` one a line. */
export interface SettingSource {
  readonly file: string;
  readonly field: string;
  readonly source: string;
}

/** Something wrong with a profile (as edited): the file, the field inside it and what is wrong. */
export interface WorkbenchProblem {
  readonly file: string;
  readonly field: string;
  readonly message: string;
}

/** One rule of a profile, as its file states it. */
export interface RuleSource {
  readonly file: string;
  readonly field: string;
  readonly language: RuleLanguage;
  readonly source: string;
}

/** An element path a read rule walks and how many values the record has there. */
export interface WalkedElement {
  readonly path: string;
  readonly present: number;
}

export interface ExplainedField {
  /** The model field, e.g. `mrn`, `name.given`. */
  readonly field: string;
  readonly file: string;
  /** The rule in that file, e.g. `read.mrn`. */
  readonly rule: string;
  readonly language: RuleLanguage;
  readonly expression: string;
  /** What the model holds for this field on the record. */
  readonly value: unknown;
  readonly empty: boolean;
  /** For an empty field: what in the record does not meet what the rule asks. */
  readonly reason?: string;
  /** For an empty field: the elements the rule walks, present or not. */
  readonly walked?: readonly WalkedElement[];
}

/** The profile an answer used: the files on disk, with the edits when there were any. */
export interface ProfileUsed {
  readonly name: string;
  readonly hash: string;
  readonly edited: boolean;
}

export interface ExplainOutcome {
  readonly profile: ProfileUsed;
  readonly resource: Resource;
  readonly fields: readonly ExplainedField[];
  readonly problems: readonly WorkbenchProblem[];
}

/** A JSON-patch style step from the record before to the record after. `from` is the old value. */
export interface PatchStep {
  readonly op: 'add' | 'remove' | 'replace';
  readonly path: string;
  readonly from?: unknown;
  readonly value?: unknown;
}

export type AppointmentAction = 'cancel' | 'convert' | 'hold';

export type TryChange =
  | { readonly resourceType: 'Patient'; readonly changes: PatientChanges }
  | {
      readonly resourceType: 'Appointment';
      readonly action: AppointmentAction;
      readonly mode?: AppointmentMode;
      readonly reason?: string;
    };

export interface TryOutcome {
  readonly profile: ProfileUsed;
  readonly before: Resource;
  readonly after: Resource | undefined;
  readonly diff: readonly PatchStep[];
  /** What would be sent: the change to the record, conditional on the version read. */
  readonly request:
    | {
        readonly method: 'PUT' | 'PATCH';
        readonly url: string;
        readonly headers: { readonly 'If-Match'?: string };
      }
    | undefined;
  readonly problems: readonly WorkbenchProblem[];
}

/** A profile ready to run, and what it is. */
export interface ResolvedProfile {
  readonly profile: MappingProfile;
  readonly used: ProfileUsed;
  /** Problems of the edits; when there are some, `profile` is the version without them. */
  readonly problems: readonly WorkbenchProblem[];
}

export interface ExpressionError {
  readonly message: string;
  readonly line?: number;
  readonly column?: number;
}

export interface EvaluateOutcome {
  readonly result: unknown;
  readonly error?: ExpressionError;
}

export interface ProfileSummary {
  readonly name: string;
  /** The hash of the files on disk now (the running version may be older until a reload). */
  readonly hash: string;
  readonly files: readonly string[];
  readonly fixtures: Readonly<Record<string, number>>;
}

export interface ProfileDetail {
  readonly name: string;
  readonly hash: string;
  /** The YAML files, by relative path. */
  readonly files: Readonly<Record<string, string>>;
  readonly rules: readonly RuleSource[];
  /** The profile.yaml constants that can be edited like rules (RuleEdit with the same file and field). */
  readonly settings: readonly SettingSource[];
  readonly fixtures: readonly { readonly kind: string; readonly name: string }[];
}

/** A fixture to save: its kind's own input members (`input`, `changes`, `slot`...), `expected` optional. */
export interface FixtureDraft {
  readonly kind: FixtureKind;
  readonly name: string;
  readonly description?: string;
  readonly members: Readonly<Record<string, unknown>>;
  readonly expected?: unknown;
  readonly overwrite: boolean;
}

/** Which profile to work with: its name, the running version when known, and unsaved edits. */
export interface ProfileChoice {
  readonly name: string;
  /** The version connections run now; used when the files on disk are the same version. */
  readonly running?: MappingProfile;
  readonly edits: readonly RuleEdit[];
}

export interface MappingWorkbench {
  /** The profile folders under the mappings folder (those holding a profile.yaml), by name. */
  folders(): Promise<readonly string[]>;
  summary(name: string): Promise<ProfileSummary>;
  detail(name: string): Promise<ProfileDetail>;
  explain(
    choice: ProfileChoice,
    resourceType: WorkbenchResourceType,
    resource: Resource,
    schedule?: Schedule,
  ): Promise<ExplainOutcome>;
  /** The profile to try a change with: the files on disk with the edits, else the running one. */
  resolve(choice: ProfileChoice): Promise<ResolvedProfile>;
  evaluate(
    choice: ProfileChoice,
    expression: {
      readonly language: RuleLanguage;
      readonly source: string;
      /** Where a FHIRPath expression starts, e.g. `Patient.name`; the whole resource when absent. */
      readonly base?: string;
      /** The `$value` of a template, when it is given one. */
      readonly value?: unknown;
    },
    resource: Resource,
  ): Promise<EvaluateOutcome>;
  /** Writes `fixtures/<kind>/<name>.json`; refuses to overwrite unless asked (CONFLICT). */
  saveFixture(choice: ProfileChoice, draft: FixtureDraft): Promise<{ readonly path: string }>;
  /**
   * Compiles and runs the fixtures with the edits, then writes them; VALIDATION with the problems
   * otherwise. With `expectedHash` (the files hash the edits were made on), CONFLICT when the files
   * changed since: saves of one profile are taken one at a time, so two never interleave.
   */
  saveRules(
    name: string,
    edits: readonly RuleEdit[],
    expectedHash?: string,
  ): Promise<{ readonly written: readonly string[]; readonly hash: string }>;
}
