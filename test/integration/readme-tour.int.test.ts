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
