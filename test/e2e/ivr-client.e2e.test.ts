/**
 * An IVR client as an operator creates it with the built CLI (`npm run build` first): it can look
 * callers up and log calls, and nothing else; it signs in every way platforms can; revoked through
 * the CLI, it is refused by the running gateway within a second.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, cleanEnv } from '../support/child-gateway';
import { http } from '../support/http';
import { TEST_REDIS_URL } from '../support/redis';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { waitFor } from '../support/wait-for';

jest.setTimeout(90000);

let gw: TestGateway;
let configFile: string;

beforeAll(async () => {
  gw = await startTestGateway();
  configFile = join(gw.dataDir, 'continuum.config.yaml');
  // The operator's config names the gateway's Redis and key prefix, as the gateway's own does.
  writeFileSync(configFile, `redis:\n  keyPrefix: ${gw.prefix}\n`);
});
afterAll(async () => {
  await gw.stop();
});

function clients(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, 'clients', ...args],
      {
        cwd: gw.dataDir,
        env: cleanEnv({ REDIS_URL: TEST_REDIS_URL, CONTINUUM_CONFIG: configFile }),
        timeout: 30000,
      },
      (error, stdout, stderr) => {
        resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}

it('creates an IVR client that looks up and logs calls, is refused the rest, and is revoked everywhere', async () => {
  const created = await clients([
    'create',
    '--name',
    'ivr-main',
    '--tenant',
    'default',
    '--scopes',
    'patients:read,calls:write',
    '--json',
  ]);
  expect(created.code).toBe(0);
  const { id, key } = JSON.parse(created.stdout) as { id: string; key: string };
  const bearer = { authorization: `Bearer ${key}` };

  const lookup = await http('GET', `${gw.url}/v1/patients/lookup?phone=6175550100`, { headers: bearer });
  expect(lookup.status).toBe(200);
  const call = await http('POST', `${gw.url}/v1/calls`, {
    headers: bearer,
    body: { patientId: 'pat-0001', direction: 'inbound', startedAt: '2026-11-27T14:00:00Z' },
  });
  expect(call.status).toBe(202);

  const booking = await http('POST', `${gw.url}/v1/appointments`, {
    headers: bearer,
    body: { patientId: 'pat-0001', slotId: 'slot-1', mode: 'in-person' },
  });
  expect(booking.status).toBe(403);
  expect(booking.body).toMatchObject({ code: 'FORBIDDEN', requiredScope: 'appointments:write' });
  const replay = await http('POST', `${gw.url}/v1/operations/replay`, {
    headers: bearer,
    body: { all: true },
  });
  expect(replay.status).toBe(403);

  // Every way in a platform may use: X-API-Key, Basic, and a token from /oauth/token.
  const viaHeader = await http('GET', `${gw.url}/v1/patients/lookup?phone=6175550100`, {
    headers: { 'x-api-key': key },
  });
  expect(viaHeader.status).toBe(200);
  const basic = { authorization: `Basic ${Buffer.from(`${id}:${key}`).toString('base64')}` };
  expect(
    (await http('GET', `${gw.url}/v1/patients/lookup?phone=6175550100`, { headers: basic })).status,
  ).toBe(200);
  const token = await http('POST', `${gw.url}/oauth/token`, {
    headers: { ...basic, 'content-type': 'application/x-www-form-urlencoded' },
    raw: 'grant_type=client_credentials',
  });
  expect(token.status).toBe(200);
  expect(token.body).toMatchObject({ token_type: 'Bearer', scope: 'patients:read calls:write' });
  const viaToken = { authorization: `Bearer ${token.body.access_token as string}` };
  expect(
    (await http('GET', `${gw.url}/v1/patients/lookup?phone=6175550100`, { headers: viaToken })).status,
  ).toBe(200);

  // Revoked by the operator in another process: the running gateway refuses key and token. The
  // gateway is asked all along, so the first refusal is timed against the revocation's own record.
  const watch: { polling: boolean; firstRefusedAt: number | undefined } = {
    polling: true,
    firstRefusedAt: undefined,
  };
  const poll = (async () => {
    while (watch.polling && watch.firstRefusedAt === undefined) {
      const res = await http('GET', `${gw.url}/v1/patients/lookup?phone=6175550100`, { headers: bearer });
      if (res.status === 401) watch.firstRefusedAt = Date.now();
      else await new Promise((resolve) => setTimeout(resolve, 10));
    }
  })();
  const revoked = await clients(['revoke', 'ivr-main']);
  expect(revoked.code).toBe(0);
  await waitFor(() => Promise.resolve(watch.firstRefusedAt !== undefined ? true : undefined), {
    timeoutMs: 1000,
    what: 'the gateway to refuse the revoked key',
  }).finally(() => {
    watch.polling = false;
  });
  await poll;
  const listed = JSON.parse((await clients(['list', '--json'])).stdout) as {
    clients: { name: string; revokedAt: string | null }[];
  };
  const revokedAt = Date.parse(listed.clients.find((c) => c.name === 'ivr-main')?.revokedAt ?? '');
  const latency = (watch.firstRefusedAt ?? Infinity) - revokedAt;
  console.log(
    `revocation through the CLI refused by the running gateway ${latency} ms after it was recorded`,
  );
  expect(latency).toBeLessThan(1000);
  expect(
    (await http('GET', `${gw.url}/v1/patients/lookup?phone=6175550100`, { headers: viaToken })).status,
  ).toBe(401);
  expect(
    (await http('GET', `${gw.url}/v1/patients/lookup?phone=6175550100`, { headers: basic })).status,
  ).toBe(401);
});
