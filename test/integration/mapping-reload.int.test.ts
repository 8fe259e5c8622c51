/**
 * Safe profile changes under load: writes queued while the EHR is down keep the profile version
 * they were accepted under across a reload, receipts say which, and a broken profile is refused
 * while the running version keeps serving.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sendAsClient } from '../support/client-retry';
import { http } from '../support/http';
import { phoneMark, writeMarkedProfile } from '../support/marked-profile';
import { setFaults, waitForFinal } from '../support/pipeline';
import { scopedClient } from '../support/scoped-client';
import { startTestGateway, type TestGateway } from '../support/test-gateway';

jest.setTimeout(600000);

const PER_VERSION = 250;
const patientId = (n: number): string => `pat-${String(n).padStart(4, '0')}`;
const phoneOf = (n: number): string => `+1617253${String(1000 + n)}`;

let work: string;
let gw: TestGateway;
let headers: Record<string, string>;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'continuum-reload-'));
  await writeMarkedProfile(join(work, 'acme'), 'A');
  gw = await startTestGateway({
    overrides: {
      mappings: { dir: work },
      sandbox: { enabled: true, patientCount: 2 * PER_VERSION + 20 },
      connections: {
        sandbox: {
          mappingProfile: 'acme',
          maxWritesPerSecond: 0,
          breaker: { failureThreshold: 3, probeIntervalMs: 400 },
        },
      },
    },
  });
  headers = await scopedClient(gw.prefix, 'integration-engineer', [
    'patients:write',
    'operations:read',
    'operations:admin',
    'mappings:write',
  ]);
});

afterAll(async () => {
  await gw.stop();
  rmSync(work, { recursive: true, force: true });
});

async function acceptPhoneWrites(from: number, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let n = from; n < from + count; n++) {
    // Keyed, so that a write the gateway asks to be sent again (503 on a starved machine) stays one.
    const { res } = await sendAsClient(() =>
      http('PATCH', `${gw.url}/v1/patients/${patientId(n)}`, {
        body: { phones: [phoneOf(n)] },
        headers: { ...headers, 'idempotency-key': `reload-${n}` },
      }),
    );
    expect(res.status).toBe(202);
    ids.push(res.body.operationId as string);
  }
  return ids;
}

it('applies queued writes with the version they were accepted under across a reload; refuses a broken one', async () => {
  const before = await http('GET', `${gw.url}/v1/status`, { headers });
  const hashA = before.body.mappings.profiles[0].hash as string;
  expect(before.body.mappings.profiles).toEqual([expect.objectContaining({ name: 'acme', hash: hashA })]);

  // The EHR is down: every write waits in the queue.
  await setFaults(gw.url, { mode: 'down', kind: 'http503' });
  const underA = await acceptPhoneWrites(1, PER_VERSION);

  await writeMarkedProfile(join(work, 'acme'), 'B');
  const reload = await http('POST', `${gw.url}/v1/mappings/reload`, { headers });
  expect(reload.status).toBe(200);
  expect(reload.body).toMatchObject({ ok: true, trigger: 'api', problems: [] });
  const hashB = reload.body.profiles[0].hash as string;
  expect(reload.body.profiles).toEqual([expect.objectContaining({ name: 'acme', changed: true })]);
  expect(hashB).not.toBe(hashA);

  const underB = await acceptPhoneWrites(PER_VERSION + 1, PER_VERSION);
  await setFaults(gw.url, { mode: 'up' });
  const receipts = await waitForFinal(gw.url, [...underA, ...underB], 420000);

  // Every write succeeded once, with its own version on the receipt and in the EHR.
  expect(receipts.filter((r) => r.status !== 'succeeded')).toEqual([]);
  expect(new Set(receipts.map((r) => r.operationId)).size).toBe(2 * PER_VERSION);
  for (const [index, r] of receipts.entries()) {
    expect(r.profile).toEqual({ name: 'acme', hash: index < PER_VERSION ? hashA : hashB });
  }
  const marks = await Promise.all(
    Array.from({ length: 2 * PER_VERSION }, async (_, i) => {
      const n = i + 1;
      const patient = (await http('GET', `${gw.fhirBase}/Patient/${patientId(n)}`)).body;
      const entries = (patient.telecom ?? []).filter((t: any) => t.value === phoneOf(n));
      expect(entries).toHaveLength(1);
      return phoneMark(patient, phoneOf(n));
    }),
  );
  expect(marks.slice(0, PER_VERSION).filter((m) => m !== 'A')).toEqual([]);
  expect(marks.slice(PER_VERSION).filter((m) => m !== 'B')).toEqual([]);

  // The diff between the two versions shows the changed template, from the stored versions.
  const diff = await http('GET', `${gw.url}/v1/mappings/diff?from=${hashA}&to=${hashB}`, { headers });
  expect(diff.status).toBe(200);
  const patientFile = diff.body.files.find((f: any) => f.path === 'patient.yaml');
  expect(patientFile).toMatchObject({ status: 'changed' });
  expect(patientFile.diff).toContain('-        ? $merge([$existing, { "value": $value, "extension"');
  expect(patientFile.diff).toContain('"valueString": "B" }]');

  // A broken B': a misspelled template. Refused with the problem; B keeps running.
  const broken = join(work, 'acme', 'patient.yaml');
  const { readFile } = await import('node:fs/promises');
  const good = await readFile(broken, 'utf8');
  await writeFile(broken, good.replace('? $merge([$existing,', '? $merge([$existing,,'));
  const refused = await http('POST', `${gw.url}/v1/mappings/reload`, { headers });
  expect(refused.status).toBe(422);
  expect(refused.body.code).toBe('VALIDATION');
  expect(refused.body.problems.join('\n')).toContain('write.phones.template');
  const status = await http('GET', `${gw.url}/v1/status`, { headers });
  expect(status.body.mappings.profiles[0].hash).toBe(hashB);
  expect(status.body.mappings.lastReload).toMatchObject({ ok: false, trigger: 'api' });

  const [after] = await acceptPhoneWrites(2 * PER_VERSION + 1, 1);
  const [done] = await waitForFinal(gw.url, [after!]);
  expect(done).toMatchObject({ status: 'succeeded', profile: { name: 'acme', hash: hashB } });
  const patient = (await http('GET', `${gw.fhirBase}/Patient/${patientId(2 * PER_VERSION + 1)}`)).body;
  expect(phoneMark(patient, phoneOf(2 * PER_VERSION + 1))).toBe('B');
});
