/**
 * The workbench's unsaved edits, single-expression evaluation and try diff, on the default
 * profile's files: edits change only their rule (comments and layout kept), refuse what is not a
 * rule, and errors come back with a line and column.
 */
import { join } from 'node:path';
import { parse } from 'yaml';
import type { Patient } from '../../src/domain/fhir';
import { readProfileFiles } from '../../src/mapping';
import { applyRuleEdits, fieldKeys } from '../../src/mapping/apply-edits';
import { evaluateExpression } from '../../src/mapping/evaluate-expression';
import type { ProfileFiles } from '../../src/mapping/profile-files';
import { ruleSources } from '../../src/mapping/rule-sources';
import { projectRoot } from '../../src/project-root';
import { patchSteps } from '../../src/use-cases/try-change';

let files: ProfileFiles;
beforeAll(async () => {
  files = await readProfileFiles(join(projectRoot(), 'mappings', 'default'));
});

const text = (all: ProfileFiles, file: string): string => all.get(file)?.toString('utf8') ?? '';

it('applies an edit to its rule only, keeping every comment and other line', () => {
  const out = applyRuleEdits(files, [
    { file: 'patient.yaml', field: 'read.gender', source: "gender.replace('male', 'm')" },
  ]);
  expect(out.problems).toEqual([]);
  expect(out.changed).toEqual(['patient.yaml']);
  const before = text(files, 'patient.yaml').split('\n');
  const after = text(out.files, 'patient.yaml').split('\n');
  expect(after.filter((line) => !before.includes(line))).toEqual(["  gender: gender.replace('male', 'm')"]);
  expect(before.filter((line) => !after.includes(line))).toEqual(['  gender: gender']);
  // The input files are not touched.
  expect(text(files, 'patient.yaml')).not.toContain("replace('male'");
});

it('writes a multi-line template as a literal block that reads back as written', () => {
  const source = '{\n  "system": "email",\n  "value": $value\n}';
  const out = applyRuleEdits(files, [{ file: 'patient.yaml', field: 'write.email.template', source }]);
  expect(out.problems).toEqual([]);
  const parsed = parse(text(out.files, 'patient.yaml')) as { write: { email: { template: string } } };
  expect(parsed.write.email.template).toBe(source);
  expect(text(out.files, 'patient.yaml')).toContain('template: |');
});

it('edits one entry of a list of rules', () => {
  expect(fieldKeys('write.phones.existing[1]')).toEqual(['write', 'phones', 'existing', 1]);
  const out = applyRuleEdits(files, [
    { file: 'patient.yaml', field: 'write.phones.existing[1]', source: 'true' },
  ]);
  expect(out.problems).toEqual([]);
  const parsed = parse(text(out.files, 'patient.yaml')) as { write: { phones: { existing: string[] } } };
  expect(parsed.write.phones.existing[1]).toBe('true');
  expect(parsed.write.phones.existing[0]).toContain('e164()');
});

it('refuses edits of what is not a rule, naming file and field, and changes nothing', () => {
  const out = applyRuleEdits(files, [
    { file: 'profile.yaml', field: 'identifiers.mrn.systems[0]', source: 'http://x' },
    { file: 'patient.yaml', field: 'write.phones.element', source: 'address' },
    { file: 'patient.yaml', field: 'read.nosuch.deep', source: 'id' },
    { file: '../etc/passwd', field: 'read.id', source: 'id' },
  ]);
  expect(out.problems).toEqual([
    expect.objectContaining({ file: 'profile.yaml', field: 'identifiers.mrn.systems[0]' }),
    expect.objectContaining({ file: 'patient.yaml', field: 'write.phones.element' }),
    expect.objectContaining({ file: '../etc/passwd', field: 'read.id' }),
    expect.objectContaining({
      file: 'patient.yaml',
      field: 'read.nosuch.deep',
      message: 'is not a rule of this file',
    }),
  ]);
  expect(out.changed).toEqual([]);
});

it('lists every rule with its language', () => {
  const rules = ruleSources(files);
  expect(rules).toContainEqual(
    expect.objectContaining({
      file: 'patient.yaml',
      field: 'read.name.given',
      language: 'fhirpath',
      source: 'given',
    }),
  );
  expect(rules).toContainEqual(
    expect.objectContaining({ file: 'appointment.yaml', field: 'book.template', language: 'jsonata' }),
  );
  expect(rules).toContainEqual(
    expect.objectContaining({ file: 'slot.yaml', field: 'schedule.practitioner', language: 'fhirpath' }),
  );
  expect(rules.some((rule) => rule.field.startsWith('codes.'))).toBe(false);
});

describe('evaluate', () => {
  const context = { constants: { mrnSystems: ['http://m'] }, functions: {} };
  const patient = {
    resourceType: 'Patient',
    identifier: [{ system: 'http://m', value: 'A1' }],
    name: [{ given: ['Ann'] }],
  };

  it('runs FHIRPath with the constants, and per element from a base', async () => {
    expect(
      await evaluateExpression(
        { language: 'fhirpath', source: 'identifier.where(system in %mrnSystems).value' },
        patient,
        context,
      ),
    ).toEqual({ result: ['A1'] });
    expect(
      await evaluateExpression(
        { language: 'fhirpath', source: 'given', base: 'Patient.name' },
        patient,
        context,
      ),
    ).toEqual({ result: [['Ann']] });
  });

  it('places a FHIRPath syntax error by line and column', async () => {
    const outcome = await evaluateExpression(
      { language: 'fhirpath', source: 'identifier\n  .where(system = )' },
      patient,
      context,
    );
    expect(outcome.error).toMatchObject({ line: 2, column: 19 });
  });

  it('places JSONata errors by line and column, with their message rather than [object Object]', async () => {
    const syntax = await evaluateExpression(
      { language: 'jsonata', source: '{\n  "a": $value +\n}' },
      patient,
      context,
    );
    expect(syntax.error).toMatchObject({ line: 3, column: 1 });
    expect(syntax.error?.message).not.toContain('[object Object]');
    const runtime = await evaluateExpression(
      { language: 'jsonata', source: '$value + 1', value: 'x' },
      patient,
      context,
    );
    expect(runtime.error?.message).toContain('must evaluate to a number');
    const unknown = await evaluateExpression({ language: 'jsonata', source: '$exisitng' }, patient, context);
    expect(unknown.error?.message).toContain('unknown variable $exisitng');
    const ok = await evaluateExpression(
      { language: 'jsonata', source: '{ "system": $mrnSystems[0] }' },
      patient,
      context,
    );
    expect(ok).toEqual({ result: { system: 'http://m' } });
  });
});

it('diffs before and after as JSON Patch steps with the values they replace, meta left out', () => {
  const before: Patient = {
    resourceType: 'Patient',
    meta: { versionId: '3' },
    telecom: [
      { system: 'phone', value: '+16175550100' },
      { system: 'email', value: 'a@x.org' },
    ],
  };
  const after: Patient = {
    resourceType: 'Patient',
    meta: { versionId: '4' },
    telecom: [{ system: 'phone', value: '+16175550199' }],
    gender: 'female',
  };
  expect(patchSteps(before, after)).toEqual(
    expect.arrayContaining([
      { op: 'replace', path: '/telecom/0/value', from: '+16175550100', value: '+16175550199' },
      { op: 'remove', path: '/telecom/1', from: { system: 'email', value: 'a@x.org' } },
      { op: 'add', path: '/gender', value: 'female' },
    ]),
  );
  expect(patchSteps(before, after).some((step) => step.path.startsWith('/meta'))).toBe(false);
});

it("edits profile.yaml's MRN systems from a JSON array or one system a line, keeping the comments", () => {
  const SANDBOX = 'http://sandbox.continuum.example/mrn';
  const lines = applyRuleEdits(files, [
    {
      file: 'profile.yaml',
      field: 'identifiers.mrn.systems',
      source: `http://acme.example/mrn\n\n ${SANDBOX} \n`,
    },
  ]);
  expect(lines.problems).toEqual([]);
  expect(lines.changed).toEqual(['profile.yaml']);
  const after = text(lines.files, 'profile.yaml');
  expect(parse(after).identifiers.mrn.systems).toEqual(['http://acme.example/mrn', SANDBOX]);
  expect(after).toContain("# The EHR's MRN systems");
  expect(after).toContain('formatVersion: 1');

  const json = applyRuleEdits(files, [
    { file: 'profile.yaml', field: 'identifiers.mrn.systems', source: '["http://acme.example/mrn"]' },
  ]);
  expect(parse(text(json.files, 'profile.yaml')).identifiers.mrn.systems).toEqual([
    'http://acme.example/mrn',
  ]);

  for (const source of ['[1, 2]', '["a", ', 'http://a.example/mrn http://b.example/mrn', '  \n ']) {
    const refused = applyRuleEdits(files, [
      { file: 'profile.yaml', field: 'identifiers.mrn.systems', source },
    ]);
    expect(refused.problems).toEqual([
      expect.objectContaining({ file: 'profile.yaml', field: 'identifiers.mrn.systems' }),
    ]);
    expect(refused.changed).toEqual([]);
  }
  // Other constants stay out of reach: the workbench edits rules and the MRN systems.
  const other = applyRuleEdits(files, [{ file: 'profile.yaml', field: 'phone.defaultRegion', source: 'GB' }]);
  expect(other.problems).toEqual([expect.objectContaining({ field: 'phone.defaultRegion' })]);
});
