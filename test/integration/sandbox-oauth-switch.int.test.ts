/**
 * `sandbox.auth.mode` is one switch for a drill: the built-in sandbox then wants OAuth like a real
 * EHR, registered by the gateway's own JWKS URL, and the gateway's connection to it signs in as that
 * registered client (SMART Backend Services), refreshing its short-lived tokens by itself.
 */
import { http } from '../support/http';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { waitFor } from '../support/wait-for';

let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway({
    overrides: {
      sandbox: { enabled: true, patientCount: 30, auth: { mode: 'smart-backend', tokenLifetimeSeconds: 2 } },
    },
  });
}, 60_000);

afterAll(async () => {
  await gw.stop();
});

async function tokensIssued(): Promise<number> {
  const res = await http('GET', `${gw.url}/sandbox/admin/auth`);
  expect(res.status).toBe(200);
  return res.body.counters.tokensIssued as number;
}

it('reads through the gateway with tokens the sandbox issued against the gateway JWKS, across their expiry', async () => {
  const first = await http('GET', `${gw.url}/v1/patients/pat-0001`);
  expect(first.status).toBe(200);
  expect(first.body.freshness.source).toBe('ehr');
  const issued = await tokensIssued();
  expect(issued).toBeGreaterThanOrEqual(1);

  // Past the first token's lifetime, reads still come from the EHR: a new token was fetched.
  await waitFor(
    async () => {
      const res = await http('GET', `${gw.url}/v1/patients/pat-0002`);
      expect(res.status).toBe(200);
      expect(res.body.freshness.source).toBe('ehr');
      return (await tokensIssued()) > issued ? true : undefined;
    },
    { timeoutMs: 10_000, intervalMs: 250, what: 'a refreshed token' },
  );
  const warning = gw.logs
    .lines()
    .find((line) => typeof line.msg === 'string' && line.msg.includes('requires OAuth tokens'));
  expect(warning).toBeUndefined();
  const auth = await http('GET', `${gw.url}/sandbox/admin/auth`);
  expect(auth.body.counters.tokensRefused).toBe(0);
});
