/**
 * The empty-field report from sampled real records: a profile that looks for MRNs in a system
 * the EHR does not use is named at start-up (status and log, field names only), while the default
 * profile on the seeded sandbox reports nothing, and a field only some records carry (a
 * cancellation reason) is not reported because the sample held no record it applies to.
 */
import { cp, readdir, readFile, writeFile } from 'node:fs/promises';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadMappingProfile, runProfileFixtures } from '../../src/mapping';
import { projectRoot } from '../../src/project-root';
import { http } from '../support/http';
import { scopedClient } from '../support/scoped-client';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { waitFor } from '../support/wait-for';
import { phiFound } from '../support/phi-words';

jest.setTimeout(120000);

const SANDBOX_MRN = 'http://sandbox.continuum.example/mrn';
const ACME_MRN = 'http://acme.example/mrn';

/**
 * A copy of mappings/default whose MRNs live in another system, with the read and registration
 * fixtures' expectations saved from it the way an engineer would: valid, fixtures passing, and
 * blind to the sandbox's MRNs.
 */
async function writeAcmeProfile(dir: string): Promise<void> {
  await cp(join(projectRoot(), 'mappings', 'default'), dir, { recursive: true });
  const file = join(dir, 'profile.yaml');
  const yaml = await readFile(file, 'utf8');
  if (!yaml.includes(`- ${SANDBOX_MRN}`)) throw new Error('mappings/default MRN system changed');
  await writeFile(file, yaml.replace(`- ${SANDBOX_MRN}`, `- ${ACME_MRN}`));
  // MRNs by system only (the default also takes any identifier typed MR, which would still find them).
  const patientFile = join(dir, 'patient.yaml');
  const patientYaml = await readFile(patientFile, 'utf8');
  const mrnRule = /^ {2}mrn: >-\n(?: {4}.*\n)+/m;
  if (!mrnRule.test(patientYaml)) throw new Error('mappings/default read.mrn changed');
  await writeFile(
    patientFile,
    patientYaml.replace(
      mrnRule,
      "  mrn: identifier.where(system in %mrnSystems and use != 'old').value.first()\n",
    ),
  );
  const profile = await loadMappingProfile(dir);
  const resave = async (kind: string, expected: (fixture: any) => unknown): Promise<void> => {
    for (const name of await readdir(join(dir, 'fixtures', kind))) {
      const path = join(dir, 'fixtures', kind, name);
      const fixture = JSON.parse(await readFile(path, 'utf8'));
      fixture.expected = JSON.parse(JSON.stringify(await expected(fixture)));
      await writeFile(path, `${JSON.stringify(fixture, null, 2)}\n`);
    }
  };
  await resave('read', (fixture) => profile.readPatient(fixture.input));
  await resave('create', (fixture) => profile.buildPatient(fixture.patient));
  const failing = (await runProfileFixtures(dir, profile)).filter((result) => !result.passed);
  if (failing.length > 0) throw new Error(`acme fixtures fail: ${failing.map((f) => f.name).join(', ')}`);
}

let work: string;
let gw: TestGateway | undefined;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'continuum-empty-fields-'));
  await writeAcmeProfile(join(work, 'acme'));
});
afterEach(async () => {
  await gw?.stop();
  gw = undefined;
});
afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

async function startWith(profile: string, sampleRecords: number): Promise<Record<string, string>> {
  gw = await startTestGateway({
    overrides: {
      mappings: { dir: profile === 'acme' ? work : join(projectRoot(), 'mappings'), sampleRecords },
      sandbox: { enabled: true, patientCount: 220 },
      connections: { sandbox: { mappingProfile: profile } },
    },
  });
  return scopedClient(gw.prefix, 'integration-engineer', ['operations:read']);
}

/** The sample runs in the background after start: its outcome is the log line or its absence. */
async function sampledFindings(headers: Record<string, string>): Promise<any[]> {
  return waitFor(
    async () => {
      const sampleLogged = gw!.logs
        .lines()
        .some(
          (line) =>
            typeof line.msg === 'string' &&
            (line.msg.startsWith('read fields empty on every sampled record') ||
              line.msg.startsWith('mapping profile checked on sampled records') ||
              line.msg.startsWith('mapping profile not checked on real records')),
        );
      const status = await http('GET', `${gw!.url}/v1/status`, { headers });
      const findings = status.body.mappings.emptyFields as any[];
      return findings.length > 0 || sampleLogged ? findings : undefined;
    },
    { timeoutMs: 30000, intervalMs: 200, what: 'the start-up sample' },
  );
}

it('names a profile field empty on every sampled record, in status and the log, without values', async () => {
  const headers = await startWith('acme', 20);
  const findings = await sampledFindings(headers);
  expect(findings).toEqual([
    {
      connection: 'sandbox',
      profile: 'acme',
      hash: expect.stringMatching(/^[0-9a-f]{64}$/),
      field: 'mrn',
      file: 'patient.yaml',
      rule: 'read.mrn',
      sampled: 20,
    },
  ]);

  const line = gw!.logs
    .lines()
    .find((l) => l.msg === 'read fields empty on every sampled record: the profile may not match this EHR');
  expect(line).toMatchObject({ connection: 'sandbox', emptyFields: ['patient.yaml read.mrn (20 records)'] });
  // Field names only: none of the sampled patients' MRNs (or any other of their values) is logged.
  const bundle = await http('GET', `${gw!.fhirBase}/Patient?_count=20`);
  const patients = (bundle.body.entry as { resource: any }[]).map((entry) => entry.resource);
  expect(patients).toHaveLength(20);
  const text = gw!.logs.text();
  for (const patient of patients) {
    const values = [
      ...(patient.identifier ?? []).map((identifier: any) => identifier.value),
      patient.birthDate,
      ...(patient.name ?? []).map((name: any) => name.family),
    ];
    expect(phiFound(text, values)).toEqual([]);
  }
});

it('reports nothing for the default profile on the seeded sandbox', async () => {
  const headers = await startWith('default', 20);
  expect(await sampledFindings(headers)).toEqual([]);
  const checked = gw!.logs
    .lines()
    .find((l) => l.msg === 'mapping profile checked on sampled records: no read field empty on all of them');
  expect(checked).toMatchObject({ connection: 'sandbox', sampled: { patients: 20, appointments: 20 } });
  const status = await http('GET', `${gw!.url}/v1/status`, { headers });
  expect(status.body.mappings.emptyFields).toEqual([]);
  expect(gw!.logs.text()).not.toContain('read fields empty on every sampled record');
});

it('judges a cancellation reason only on cancelled appointments', async () => {
  // One record of each: the sandbox's first appointment is booked, with no cancellation reason.
  // Before, that single record made `appointment.cancellationReason` a finding; a booked
  // appointment has no reason to give, so it is not judged on it.
  const headers = await startWith('default', 1);
  const first = (await http('GET', `${gw!.fhirBase}/Appointment?_count=1`)).body.entry[0].resource;
  expect(first.status).toBe('booked');
  expect(first.cancelationReason).toBeUndefined();
  const findings = await sampledFindings(headers);
  const fields = findings.map((finding: { field: string }) => finding.field);
  expect(fields).not.toContain('appointment.cancellationReason');
  // The rest of that booked appointment reads in full: no appointment field is reported.
  expect(fields.filter((field: string) => field.startsWith('appointment.'))).toEqual([]);
});
