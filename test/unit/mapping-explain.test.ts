/**
 * Explain's reasons for empty fields, on the default profile and records shaped to miss each rule:
 * what the record has set against what the rule asks, and nothing when the field has a value.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Patient } from '../../src/domain/fhir';
import type { ExplainedField } from '../../src/domain/mapping-workbench';
import { compileMappingProfile, readProfileFiles } from '../../src/mapping';
import { emptyFieldReason } from '../../src/mapping/empty-field-reason';
import { explainResource } from '../../src/mapping/explain-profile';
import { walkFhirPath } from '../../src/mapping/fhirpath-walk';
import type { ProfileFiles } from '../../src/mapping/profile-files';
import { projectRoot } from '../../src/project-root';

const DEFAULT_DIR = join(projectRoot(), 'mappings', 'default');
const plain = (
  JSON.parse(readFileSync(join(DEFAULT_DIR, 'fixtures', 'read', 'plain.json'), 'utf8')) as { input: Patient }
).input;

async function explain(files: ProfileFiles, patient: Patient): Promise<ExplainedField[]> {
  const profile = await compileMappingProfile('/profiles/test', files);
  return explainResource(profile, files, 'Patient', patient);
}

function edited(files: ProfileFiles, file: string, edit: (text: string) => string): ProfileFiles {
  const out = new Map(files);
  out.set(file, Buffer.from(edit(files.get(file)?.toString('utf8') ?? ''), 'utf8'));
  return out;
}

const field = (fields: ExplainedField[], name: string): ExplainedField => {
  const found = fields.find((f) => f.field === name);
  if (found === undefined) throw new Error(`no field ${name}`);
  return found;
};

let files: ProfileFiles;
beforeAll(async () => {
  files = await readProfileFiles(DEFAULT_DIR);
});

it('gives every field of a full record its value and no reason', async () => {
  const fields = await explain(files, plain);
  expect(field(fields, 'mrn')).toMatchObject({
    value: 'MRN1234567',
    empty: false,
    rule: 'read.mrn',
    file: 'patient.yaml',
  });
  expect(field(fields, 'name.given')).toMatchObject({ value: ['Maria', 'Elena'], empty: false });
  expect(field(fields, 'phones')).toMatchObject({ value: ['+16175551234'], empty: false });
  for (const f of fields.filter((f) => !f.empty)) expect(f.reason).toBeUndefined();
  expect(field(fields, 'mrn').expression).toContain('%mrnSystems');
});

it('names the MRN system asked for and the systems the record has, when neither MRN rule matches', async () => {
  const acme = edited(
    edited(files, 'profile.yaml', (text) =>
      text.replace('http://sandbox.continuum.example/mrn', 'http://acme.example/mrn'),
    ),
    'patient.yaml',
    (text) => text.replace("code = 'MR'", "code = 'MRN'"),
  );
  const mrn = field(await explain(acme, plain), 'mrn');
  expect(mrn.empty).toBe(true);
  expect(mrn.reason).toBe(
    "no identifier has a system in %mrnSystems (http://acme.example/mrn); the record's identifier systems: " +
      'http://sandbox.continuum.example/mrn. ' +
      "no identifier.type.coding has a code = 'MRN'; the record's identifier.type.coding codes: MR. " +
      "If http://sandbox.continuum.example/mrn (typed MR) holds this EHR's MRNs, add it to " +
      'identifiers.mrn.systems in profile.yaml',
  );
  expect(mrn.walked).toContainEqual({ path: 'identifier', present: 1 });
});

it("ends an empty MRN's reason with where to name the record's MRN-like system, and only for such a system", async () => {
  const acme = edited(files, 'profile.yaml', (text) =>
    text.replace('http://sandbox.continuum.example/mrn', 'http://acme.example/mrn'),
  );
  const withIdentifiers = (identifier: unknown[]) => ({ ...plain, identifier }) as Patient;
  // Not typed MR, but named like an MRN system.
  const named = field(
    await explain(acme, withIdentifiers([{ system: 'urn:oid:1.2.3/patient-mrn', value: 'A1' }])),
    'mrn',
  );
  expect(named.reason).toMatch(
    /urn:oid:1\.2\.3\/patient-mrn \(named like an MRN system\) holds this EHR's MRNs, add it to identifiers\.mrn\.systems in profile\.yaml$/,
  );
  // A social security number is neither: no advice to make it the MRN.
  const ssn = field(
    await explain(acme, withIdentifiers([{ system: 'http://hl7.org/fhir/sid/us-ssn', value: '123' }])),
    'mrn',
  );
  expect(ssn.empty).toBe(true);
  expect(ssn.reason).toContain('http://hl7.org/fhir/sid/us-ssn');
  expect(ssn.reason).not.toContain('identifiers.mrn.systems');
});

it('says which element is missing when no filter is to blame', async () => {
  const { identifier: _identifier, ...noIdentifiers } = plain as Patient & { identifier?: unknown };
  const fields = await explain(files, noIdentifiers);
  expect(field(fields, 'mrn').reason).toContain('the record has no identifier');
  const noBirth = await explain(files, { ...plain, birthDate: undefined });
  expect(field(noBirth, 'birthDate')).toMatchObject({ empty: true, reason: 'the record has no birthDate' });
});

it('explains fields read from the picked name or address through the pick', async () => {
  const fields = await explain(files, { ...plain, address: [{ use: 'old', city: 'Salem' }] });
  expect(field(fields, 'address').reason).toBe(
    "no address has a use = 'home'; the record's address uses: old",
  );
  expect(field(fields, 'address.city').reason).toBe(
    'read.address.from picks no address, so there is nothing to read city from',
  );
  expect(field(fields, 'name.text').reason).toBe('the name read.name.from picks has no text');
});

it('tells numbers that are there but not dialable apart from no numbers at all', async () => {
  const fields = await explain(files, { ...plain, telecom: [{ system: 'phone', value: '12' }] });
  expect(field(fields, 'phones')).toMatchObject({
    empty: true,
    reason: "the record's numbers are not valid phone numbers in region US: 12",
  });
  const email = field(fields, 'email');
  expect(email.reason).toBe("no telecom has a system = 'email'; the record's telecom systems: phone");
});

it('walks defineVariable, select and combine to the filters the rule really applies', () => {
  const walk = walkFhirPath(
    "defineVariable('v', telecom.where(use != 'old')).select(%v.where(system in %kinds).combine(%v.where(code ~ 'x')))",
    { kinds: ['phone', 'sms'] },
  );
  expect(walk.filters).toEqual([
    {
      collection: 'telecom',
      member: 'system',
      operator: 'in',
      wanted: ['phone', 'sms'],
      wantedSource: '%kinds',
    },
    { collection: 'telecom', member: 'code', operator: '~', wanted: ['x'], wantedSource: "'x'" },
  ]);
  expect(walk.paths).toEqual(['telecom', 'telecom.use', 'telecom.system', 'telecom.code']);
  expect(walk.conditionPaths).toEqual(['telecom.use', 'telecom.system', 'telecom.code']);
  // Missing: the element the value is read from, not one only tested.
  expect(
    emptyFieldReason(
      walkFhirPath("identifier.where(use != 'old').value", {}),
      { identifier: [{ system: 's' }] },
      [],
    ),
  ).toBe('the record has 1 identifier but no identifier.value');
  // A filter the record passes is not a reason.
  expect(emptyFieldReason(walk, { telecom: [{ system: 'sms', code: 'x' }] }, [])).not.toMatch(
    /^no telecom has/,
  );
  expect(emptyFieldReason(walk, { telecom: [{ system: 'fax', code: 'x' }] }, [])).toBe(
    "no telecom has a system in %kinds (phone, sms); the record's telecom systems: fax",
  );
});
