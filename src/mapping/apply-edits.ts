/**
 * Unsaved rule edits applied to a profile's files with the `yaml` Document API, so that what is
 * saved keeps every comment and the layout of the rest of the file: only the edited scalars change.
 */
import { isScalar, isSeq, parseDocument, Scalar, type Document } from 'yaml';
import type { RuleEdit, WorkbenchProblem } from '../domain/mapping-workbench';
import type { ProfileFiles } from './profile-files';
import { isProfileSetting, parseSystemList, PROFILE_FILE } from './profile-settings';
import { languageOf, RULE_FILES } from './rule-sources';

export interface EditedFiles {
  readonly files: ProfileFiles;
  /** The files the edits changed. */
  readonly changed: readonly string[];
  readonly problems: readonly WorkbenchProblem[];
}

/** `write.phones.existing[0]` -> ['write', 'phones', 'existing', 0]. */
export function fieldKeys(field: string): (string | number)[] {
  return field.split('.').flatMap((part) => {
    const match = /^([^[\]]+)((?:\[\d+\])*)$/.exec(part);
    if (match === null) return [part];
    const indexes = [...(match[2] ?? '').matchAll(/\[(\d+)\]/g)].map((index) => Number(index[1]));
    return [match[1] ?? part, ...indexes];
  });
}

export function applyRuleEdits(files: ProfileFiles, edits: readonly RuleEdit[]): EditedFiles {
  const out = new Map(files);
  const problems: WorkbenchProblem[] = [];
  const changed = new Set<string>();
  const byFile = new Map<string, RuleEdit[]>();
  for (const edit of edits) {
    if (isProfileSetting(edit)) {
      byFile.set(edit.file, [...(byFile.get(edit.file) ?? []), edit]);
      continue;
    }
    if (!(RULE_FILES as readonly string[]).includes(edit.file)) {
      const settings = edit.file === PROFILE_FILE ? ': of profile.yaml, identifiers.mrn.systems is' : '';
      problems.push({
        ...where(edit),
        message: `is not a rule file (${RULE_FILES.join(', ')})${settings}`,
      });
      continue;
    }
    if (languageOf(edit.field) === undefined) {
      problems.push({
        ...where(edit),
        message: 'is not a rule: read rules, write selectors and templates are',
      });
      continue;
    }
    byFile.set(edit.file, [...(byFile.get(edit.file) ?? []), edit]);
  }
  for (const [file, fileEdits] of byFile) {
    const content = files.get(file);
    if (content === undefined) {
      problems.push({ file, field: '', message: 'file not found' });
      continue;
    }
    const document = parseDocument(content.toString('utf8'));
    if (document.errors.length > 0) {
      problems.push({ file, field: '', message: 'not valid YAML: edit the file itself first' });
      continue;
    }
    for (const edit of fileEdits) {
      if (isProfileSetting(edit)) {
        const problem = setSystems(document, edit);
        if (problem !== undefined) problems.push(problem);
        continue;
      }
      const keys = fieldKeys(edit.field);
      const node = document.getIn(keys, true);
      if (isScalar(node)) {
        node.value = edit.source;
        // A multi-line rule stays readable as a literal block; one line keeps its style.
        if (edit.source.includes('\n')) node.type = Scalar.BLOCK_LITERAL;
      } else if (node === undefined && document.hasIn(keys.slice(0, -1))) {
        document.setIn(keys, edit.source);
      } else {
        problems.push({ ...where(edit), message: 'is not a rule of this file' });
        continue;
      }
    }
    // No line width: long rules stay on their line, and untouched ones come out as they were.
    const text = document.toString({ lineWidth: 0 });
    if (text !== content.toString('utf8')) {
      out.set(file, Buffer.from(text, 'utf8'));
      changed.add(file);
    }
  }
  return { files: out, changed: [...changed], problems };
}

/** The MRN systems as a YAML list, replacing the items of the one there (its comments stay). */
function setSystems(document: Document, edit: RuleEdit): WorkbenchProblem | undefined {
  const parsed = parseSystemList(edit.source);
  if ('message' in parsed) return { ...where(edit), message: parsed.message };
  const keys = fieldKeys(edit.field);
  const node = document.getIn(keys, true);
  if (isSeq(node)) {
    node.items = parsed.systems.map((system) => document.createNode(system));
  } else if (node === undefined && document.hasIn(keys.slice(0, -1))) {
    document.setIn(keys, parsed.systems);
  } else {
    return { ...where(edit), message: 'is not a list of systems in this file' };
  }
  return undefined;
}

function where(edit: RuleEdit): { file: string; field: string } {
  return { file: edit.file, field: edit.field };
}
