/**
 * The README's tour runs against the default sandbox as a newcomer starts it, on whatever day they
 * do: the caller it verifies must verify, the number it looks up must find that patient. The values
 * are read from the README itself, so neither the text nor the seed can drift from the other.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_PATIENT_COUNT } from '../../adapters/ehr/sandbox/seed';
import { projectRoot } from '../../src/project-root';
import { http } from '../support/http';
import { startTestGateway, type TestGateway } from '../support/test-gateway';

const readme = readFileSync(join(projectRoot(), 'README.md'), 'utf8');

/** The tour's identity check: its request body and the patient its comment says is verified. */
function tourVerification(): { body: Record<string, string>; patientId: string } {
  const match =
    /\/v1\/patients\/verify\b[^\n]*\n\s*-d '(\{[^']*\})'\n# -> \{"verified": true, "patientId": "([^"]+)"/.exec(
      readme,
    );
  if (match?.[1] === undefined || match[2] === undefined) {
    throw new Error('README.md no longer shows a verify call answered "verified": true');
  }
  return { body: JSON.parse(match[1]) as Record<string, string>, patientId: match[2] };
}

/** The tour's screen pop: the number it looks up and the patient it says is found. */
function tourLookup(): { phone: string; patientId: string } {
  const match =
    /lookup\?phone=([^'"\s]+)' \| jq\n# -> \{"found": true, [^\n]*"matches": \[\{"id": "([^"]+)"/.exec(
      readme,
    );
  if (match?.[1] === undefined || match[2] === undefined) {
    throw new Error('README.md no longer shows a lookup answered "found": true');
  }
  return { phone: match[1], patientId: match[2] };
}

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway({
    overrides: { sandbox: { enabled: true, patientCount: DEFAULT_PATIENT_COUNT } },
  });
});
afterAll(async () => {
  await gw.stop();
});

it("verifies the tour's caller with the birth date the tour gives", async () => {
  const { body, patientId } = tourVerification();
  const res = await http('POST', `${gw.url}/v1/patients/verify`, { body });
  expect(res.status).toBe(200);
  expect(res.body).toMatchObject({ verified: true, patientId });
});

it("finds the tour's patient by the number the tour looks up", async () => {
  const { phone, patientId } = tourLookup();
  const res = await http('GET', `${gw.url}/v1/patients/lookup?phone=${phone}`);
  expect(res.status).toBe(200);
  expect(res.body.found).toBe(true);
  expect((res.body.matches as { id: string }[]).map((m) => m.id)).toEqual([patientId]);
});

it('presents the admin key on every call the README shows, except the probes', () => {
  const calls = readme.split('\n').filter((line) => /\bcurl -s/.test(line));
  expect(calls.length).toBeGreaterThan(20);
  const presents = (line: string): boolean => line.includes('-H "$A"') || line.includes('-u "$CLIENT_ID:');
  const anonymous = calls.filter((line) => !presents(line) && !/\/(readyz|healthz)\b/.test(line));
  expect(anonymous).toEqual([]);
  expect(readme).toContain('KEY=$(cat var/admin.key)');
});

it('answers the tour’s calls 401 without the key, and with it as the tour sends it', async () => {
  const { phone } = tourLookup();
  const anonymous = await http('GET', `${gw.url}/v1/patients/lookup?phone=${phone}`, { anonymous: true });
  expect(anonymous.status).toBe(401);
  expect(anonymous.headers.get('www-authenticate')).toContain('Bearer');
  expect(JSON.stringify(anonymous.body)).not.toContain('pat-');
  const sandbox = await http('GET', `${gw.fhirBase}/Patient/pat-0001`, { anonymous: true });
  expect(sandbox.status).toBe(401);
  const keyed = await http('GET', `${gw.url}/v1/patients/lookup?phone=${phone}`, {
    anonymous: true,
    headers: { authorization: `Bearer ${readFileSync(join(gw.dataDir, 'admin.key'), 'utf8').trim()}` },
  });
  expect(keyed.status).toBe(200);
});
