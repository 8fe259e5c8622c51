/**
 * `continuum subscriptions sync` against a gateway's sandbox EHR: the use case creates one Subscription per
 * type, pointing at the gateway's webhook URL and signed per `webhooks`; a second run (the built CLI, as an
 * operator runs it) changes nothing; a scheme change updates them in place; what FHIR R4 cannot sign is an
 * error. `npm run build` first (`npm test` does it).
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFhirR4Client } from '../../adapters/ehr/fhir-r4/fhir-r4-client';
import type { EhrClient } from '../../src/domain/ports';
import {
  formatSyncResult,
  syncSubscriptions,
  type SubscriptionTarget,
} from '../../src/use-cases/sync-subscriptions';
import { CLI, cleanEnv, freePort, runCli, stopChildren } from '../support/child-gateway';
import { http } from '../support/http';
import { startTestGateway, type TestGateway } from '../support/test-gateway';

jest.setTimeout(90000);

const SECRET_URL = 'https://www.medplum.com/fhir/StructureDefinition/subscription-secret';
const SECRET = 'hmac-secret-for-the-sandbox-0123';
const BEARER = 'bearer-secret-for-the-sandbox-456';
const TYPES = ['Patient', 'Appointment', 'Encounter'];

let gateway: TestGateway;
let publicUrl: string;
let ehr: EhrClient;
let workdir: string;

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
  workdir = mkdtempSync(join(tmpdir(), 'continuum-subscriptions-'));
  const port = await freePort();
  publicUrl = `http://127.0.0.1:${port}/webhooks/ehr/sandbox`;
  gateway = await startTestGateway({
    overrides: {
      server: { port, host: '127.0.0.1' },
      sandbox: { enabled: true, patientCount: 220 },
      connections: {
        sandbox: { webhooks: { scheme: 'hmac-sha256', secret: SECRET }, subscriptions: { publicUrl } },
      },
    },
  });
  ehr = createFhirR4Client({
    connection: 'sandbox',
    baseUrl: gateway.fhirBase,
    // The built-in sandbox needs a credential like every route: the test's admin key.
    auth: { type: 'bearer', token: gateway.key },
    defaultDeadlineMs: 5000,
  });
});
afterEach(async () => {
  // A CLI child left running by a failing test would keep the runner waiting.
  await stopChildren();
});
afterAll(async () => {
  await gateway.stop();
  rmSync(workdir, { recursive: true, force: true });
});

const target = (webhooks: SubscriptionTarget['webhooks']): SubscriptionTarget => ({
  connection: 'sandbox',
  publicUrl,
  resources: TYPES,
  webhooks,
});

async function stored(): Promise<any[]> {
  const page = await http('GET', `${gateway.fhirBase}/Subscription?_count=100`);
  expect(page.status).toBe(200);
  return (page.body.entry ?? []).map((e: any) => e.resource);
}

const versions = (subscriptions: any[]): Record<string, string> =>
  Object.fromEntries(subscriptions.map((s) => [s.id, s.meta.versionId]));

/** The built CLI with a config file naming the connection's webhooks; stdout and stderr together. */
async function cli(webhooks: Record<string, unknown>): Promise<{ code: number | null; output: string }> {
  const config = join(workdir, 'continuum.config.yaml');
  writeFileSync(
    config,
    JSON.stringify({
      sandbox: { enabled: true },
      connections: { sandbox: { webhooks, subscriptions: { publicUrl } } },
    }),
  );
  const run = runCli(['subscriptions', 'sync', '--ehr-url', gateway.fhirBase], {
    cwd: workdir,
    // Run next to the gateway, on its data directory: the CLI derives the sandbox credential from it.
    env: cleanEnv({ CONTINUUM_CONFIG: config, CONTINUUM_DATA_DIR: gateway.dataDir }),
  });
  const code = await run.exited;
  return { code, output: run.output() };
}

it('creates one signed Subscription per type, and a second run (the CLI) changes nothing', async () => {
  const first = await syncSubscriptions(
    ehr,
    target({ scheme: 'hmac-sha256', secret: SECRET, header: 'x-signature' }),
  );
  expect(first.map((r) => [r.resourceType, r.action])).toEqual(TYPES.map((type) => [type, 'created']));

  const subscriptions = await stored();
  expect(subscriptions).toHaveLength(3);
  expect(subscriptions.map((s) => s.criteria).sort()).toEqual([...TYPES].sort());
  for (const s of subscriptions) {
    expect(s.status).toBe('active');
    expect(s.channel).toEqual({ type: 'rest-hook', endpoint: publicUrl, payload: 'application/fhir+json' });
    expect(s.extension).toEqual([{ url: SECRET_URL, valueString: SECRET }]);
  }
  const ids = Object.fromEntries(subscriptions.map((s) => [s.criteria, s.id]));
  expect(first.map(formatSyncResult)).toEqual(
    TYPES.map((type) => `sandbox ${type}: created Subscription/${ids[type]}`),
  );

  const again = await cli({ scheme: 'hmac-sha256', secret: SECRET });
  expect(again.code).toBe(0);
  expect(again.output.trim().split('\n')).toEqual(
    TYPES.map((type) => `sandbox ${type}: unchanged Subscription/${ids[type]}`),
  );
  expect(again.output).not.toContain(SECRET);
  expect(versions(await stored())).toEqual(versions(subscriptions));
});

it('moves the Subscriptions to another scheme in place, then leaves them alone', async () => {
  const before = await stored();
  const bearer = await syncSubscriptions(ehr, target({ scheme: 'bearer', secret: BEARER }));
  expect(bearer.map((r) => r.action)).toEqual(['updated', 'updated', 'updated']);
  expect(bearer.map(formatSyncResult).join('\n')).not.toContain(BEARER);
  const after = await stored();
  expect(after.map((s) => s.id).sort()).toEqual(before.map((s) => s.id).sort());
  for (const s of after) {
    expect(s.extension).toBeUndefined();
    expect(s.channel.header).toEqual([`Authorization: Bearer ${BEARER}`]);
  }
  const steady = await syncSubscriptions(ehr, target({ scheme: 'bearer', secret: BEARER }));
  expect(steady.map((r) => r.action)).toEqual(['unchanged', 'unchanged', 'unchanged']);
  expect(versions(await stored())).toEqual(versions(after));

  // Someone turned one off by hand and noted why: the sync turns it back on, keeping what it did not
  // manage. (The sandbox takes no header but Authorization, so the note is an extension.)
  const patient = after.find((s) => s.criteria === 'Patient');
  const off = await http('PUT', `${gateway.fhirBase}/Subscription/${patient.id}`, {
    headers: { 'content-type': 'application/fhir+json' },
    body: {
      ...patient,
      status: 'off',
      extension: [
        ...(patient.extension ?? []),
        { url: 'https://example.org/fhir/owner', valueString: 'desk' },
      ],
    },
  });
  expect(off.status).toBe(200);
  const back = await syncSubscriptions(ehr, target({ scheme: 'bearer', secret: BEARER }));
  expect(back.map((r) => [r.resourceType, r.action])).toEqual([
    ['Patient', 'updated'],
    ['Appointment', 'unchanged'],
    ['Encounter', 'unchanged'],
  ]);
  const restored = (await http('GET', `${gateway.fhirBase}/Subscription/${patient.id}`)).body;
  expect(restored.status).toBe('active');
  expect(restored.channel.header).toEqual([`Authorization: Bearer ${BEARER}`]);
  expect(restored.extension).toContainEqual({ url: 'https://example.org/fhir/owner', valueString: 'desk' });
});

it('reports, and skips, what FHIR R4 Subscriptions cannot sign; the CLI exits 1', async () => {
  const before = versions(await stored());
  const standard = await syncSubscriptions(
    ehr,
    target({ scheme: 'standard-webhooks', secret: 'whsec_c2VjcmV0LWZvci10aGUtc2FuZGJveA==' }),
  );
  expect(standard).toHaveLength(1);
  expect(formatSyncResult(standard[0]!)).toMatch(/^sandbox: error: webhooks.scheme standard-webhooks: /);
  expect(formatSyncResult(standard[0]!)).not.toContain('whsec_');
  const unsigned = await syncSubscriptions(ehr, target(undefined));
  expect(formatSyncResult(unsigned[0]!)).toMatch(/^sandbox: error: no webhooks configured/);

  const run = await cli({ scheme: 'standard-webhooks', secret: 'whsec_c2VjcmV0LWZvci10aGUtc2FuZGJveA==' });
  expect(run.code).toBe(1);
  expect(run.output).toMatch(/^sandbox: error: webhooks.scheme standard-webhooks/m);
  expect(run.output).not.toContain('whsec_');
  expect(versions(await stored())).toEqual(before);
});

it('reports the EHR refusing a Subscription, per type, without the secret', async () => {
  const results = await syncSubscriptions(ehr, {
    ...target({ scheme: 'hmac-sha256', secret: SECRET, header: 'x-signature' }),
    publicUrl: 'https://gateway.example.org/webhooks/ehr/sandbox',
    resources: ['Patient'],
  });
  expect(results).toHaveLength(1);
  const line = formatSyncResult(results[0]!);
  expect(line).toMatch(/^sandbox Patient: error: EHR_REJECTED: .*loopback/);
  expect(line).not.toContain(SECRET);
});
