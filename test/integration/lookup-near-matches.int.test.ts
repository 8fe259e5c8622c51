/**
 * An EHR whose phone search is loose (it matches on the last digits, or ignores the area code)
 * returns near-matches with the caller's own record. A screen pop must show only patients whose
 * number is the caller's in E.164, and the phone index must not learn the near-matches either: with
 * the EHR gone, the lookup answered from the index shows the same single match.
 */
import { http } from '../support/http';
import { startEchoEhr, type EchoEhr } from '../support/echo-ehr';
import { ehrProfile } from '../support/ehr-profile';
import { startTestGateway, type TestGateway } from '../support/test-gateway';

const patient = (id: string, phone: string) => ({
  resourceType: 'Patient',
  id,
  meta: { versionId: '1' },
  name: [{ family: `Near${id}`, given: ['Pat'] }],
  birthDate: '1980-01-01',
  telecom: [{ system: 'phone', value: phone }],
});

const CALLER = '+16175550123';
const RESULTS = [
  patient('near-same', '(617) 555-0123'),
  patient('near-area', '508-555-0123'),
  patient('near-swap', '617-555-0132'),
  patient('near-country', '+44 20 6175 550123'),
  patient('near-longer', '617-555-01234'),
];

let echo: EchoEhr;
let gw: TestGateway;
const profile = ehrProfile();
beforeAll(async () => {
  echo = await startEchoEhr(patient('near-same', '(617) 555-0123'), { searchResults: RESULTS });
  gw = await startTestGateway({
    overrides: {
      sandbox: { enabled: false },
      mappings: { dir: profile.dir },
      connections: {
        loose: { baseUrl: echo.baseUrl, mappingProfile: profile.name, breaker: { failureThreshold: 50 } },
      },
    },
  });
});
afterAll(async () => {
  await gw.stop();
  await echo.close();
  profile.remove();
});

const lookup = (phone: string) =>
  http('GET', `${gw.url}/v1/patients/lookup?phone=${encodeURIComponent(phone)}`);

it("shows only the patients whose number is the caller's, and indexes only those", async () => {
  const live = await lookup('617 555 0123');
  expect(live.status).toBe(200);
  expect(live.body).toMatchObject({ found: true, phone: CALLER, freshness: { source: 'ehr' } });
  expect(live.body.matches.map((m: { id: string }) => m.id)).toEqual(['near-same']);

  // A caller whose number only near-matches is not found, rather than shown someone else's record.
  const stranger = await lookup('+1 212 555 0123');
  expect(stranger.status).toBe(200);
  expect(stranger.body).toMatchObject({ found: false, matches: [] });

  await echo.close();
  const fromIndex = await lookup(CALLER);
  expect(fromIndex.body).toMatchObject({ found: true, freshness: { source: 'cache' } });
  expect(fromIndex.body.matches.map((m: { id: string }) => m.id)).toEqual(['near-same']);
  for (const number of ['+15085550123', '+16175550132']) {
    const other = await lookup(number);
    expect({ number, status: other.status, found: other.body.found }).toEqual({
      number,
      status: 503,
      found: undefined,
    });
  }
});
