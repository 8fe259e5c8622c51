/**
 * The profile.yaml constants the workbench edits next to the rules. Only the MRN systems for now:
 * they are what a copy of a profile for another EHR must change first. A setting's source is text,
 * like a rule's: a JSON array of systems, or one system a line (what a text box gives).
 */
import type { SettingSource } from '../domain/mapping-workbench';
import type { ProfileFiles } from './profile-files';
import { parsedFile } from './rule-sources';

export const PROFILE_FILE = 'profile.yaml';
export const MRN_SYSTEMS_FIELD = 'identifiers.mrn.systems';

export function isProfileSetting(edit: { readonly file: string; readonly field: string }): boolean {
  return edit.file === PROFILE_FILE && edit.field === MRN_SYSTEMS_FIELD;
}

/** The systems a source names, or why it names none. */
export function parseSystemList(source: string): { systems: string[] } | { message: string } {
  const text = source.trim();
  if (text.startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return { message: 'is not a JSON array of systems (or write one system a line)' };
    }
    if (!Array.isArray(parsed) || !parsed.every((item) => typeof item === 'string' && item.trim() !== '')) {
      return { message: 'must be a JSON array of non-empty strings' };
    }
    return { systems: (parsed as string[]).map((item) => item.trim()) };
  }
  const systems = text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');
  if (systems.length === 0) return { message: 'must name at least one system' };
  const spaced = systems.find((system) => /\s/.test(system));
  if (spaced !== undefined) return { message: `"${spaced}" is not one system: write one system a line` };
  return { systems };
}

/** The settings as the page edits them: the MRN systems one a line. */
export function settingSources(files: ProfileFiles): SettingSource[] {
  const profile = parsedFile(files, PROFILE_FILE) as
    { identifiers?: { mrn?: { systems?: unknown } } } | undefined;
  const systems = profile?.identifiers?.mrn?.systems;
  const list = Array.isArray(systems)
    ? systems.filter((item): item is string => typeof item === 'string')
    : [];
  return [{ file: PROFILE_FILE, field: MRN_SYSTEMS_FIELD, source: list.join('\n') }];
}
