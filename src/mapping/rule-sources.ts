/**
 * The rules of a profile as its files state them: every FHIRPath read rule, write selector and
 * JSONata template, with the file and dotted field that name it (`patient.yaml` `read.name.given`),
 * so the workbench can show and edit them one by one.
 */
import { parse } from 'yaml';
import type { RuleLanguage, RuleSource } from '../domain/mapping-workbench';
import type { ProfileFiles } from './profile-files';

/** The files that hold rules, in the order they are shown. */
export const RULE_FILES = ['patient.yaml', 'appointment.yaml', 'slot.yaml', 'call.yaml'] as const;

/** The language of a rule, by where it sits: templates are JSONata, everything else FHIRPath. */
export function languageOf(field: string): RuleLanguage | undefined {
  const parts = field.replace(/\[\d+\]$/, '').split('.');
  const head = parts[0] ?? '';
  const last = parts[parts.length - 1] ?? '';
  if (last === 'template') return 'jsonata';
  if (head === 'read' || head === 'schedule') return 'fhirpath';
  if (head === 'write' && (last === 'replaces' || last === 'existing')) return 'fhirpath';
  return undefined;
}

/** A YAML file of the profile as plain data; undefined when missing or not valid YAML. */
export function parsedFile(files: ProfileFiles, file: string): unknown {
  const content = files.get(file);
  if (content === undefined) return undefined;
  try {
    return parse(content.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

export function ruleSources(files: ProfileFiles): RuleSource[] {
  const rules: RuleSource[] = [];
  for (const file of RULE_FILES) {
    const walk = (value: unknown, field: string): void => {
      if (typeof value === 'string') {
        const language = languageOf(field);
        if (language !== undefined) rules.push({ file, field, language, source: value });
        return;
      }
      if (Array.isArray(value)) {
        value.forEach((item, index) => {
          walk(item, `${field}[${index}]`);
        });
        return;
      }
      if (value !== null && typeof value === 'object') {
        for (const [key, inner] of Object.entries(value)) walk(inner, field === '' ? key : `${field}.${key}`);
      }
    };
    walk(parsedFile(files, file), '');
  }
  return rules;
}

/** The source of one rule, e.g. `read.name.given` of patient.yaml. */
export function ruleSource(files: ProfileFiles, file: string, field: string): string | undefined {
  return ruleSources(files).find((rule) => rule.file === file && rule.field === field)?.source;
}
