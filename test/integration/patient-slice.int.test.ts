/**
 * The first slice end to end, in-process: a caller is found by a phone number written in another
 * format than the EHR stored it, their phone is corrected through the durable queue, and the EHR,
 * the receipt and the phone index all reflect it.
 */
import { http, phoneDigits } from '../support/http';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { waitFor } from '../support/wait-for';

interface FhirPatient {
  id: string;
  meta?: { versionId?: string };
  telecom?: { system?: string; value?: string; use?: string }[];
  address?: unknown[];
}

let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway();
});
afterAll(async () => {
  await gw.stop();
});

async function samplePatients(count = 100): Promise<FhirPatient[]> {
  const bundle = await http(`GET`, `${gw.fhirBase}/Patient?_count=${count}`);
  expect(bundle.status).toBe(200);
  return (bundle.body.entry as { resource: FhirPatient }[]).map((e) => e.resource);
}

/** A fresh, valid US number that no seeded patient has. */
async function unusedNumber(seed: number): Promise<string> {
  for (let i = 0; i < 50; i++) {
    const candidate = `+1212555${String(1000 + ((seed * 37 + i * 101) % 9000)).padStart(4, '0')}`;
    const found = await http('GET', `${gw.url}/v1/patients/lookup?phone=${encodeURIComponent(candidate)}`);
    if (found.body.found === false) return candidate;
  }
  throw new Error('no unused number found');
}

describe('caller lookup and a queued phone correction', () => {
  it('finds a patient by a number written in another format than the EHR stored it', async () => {
    const patients = await samplePatients();
    const withPhone = patients.find((p) => phoneDigits(p).length > 0);
    expect(withPhone).toBeDefined();
    const stored = withPhone!.telecom!.find((t) => t.system === 'phone')!.value!;
    const digits = phoneDigits(withPhone!)[0]!;
    const otherFormat = stored.includes('(')
      ? `${digits.slice(0, 3)}.${digits.slice(3, 6)}.${digits.slice(6)}`
      : `(${digits.slice(0, 3)}) ${digits.slice(3, 6)}-${digits.slice(6)}`;

    const res = await http('GET', `${gw.url}/v1/patients/lookup?phone=${encodeURIComponent(otherFormat)}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-request-id')).toBeTruthy();
    expect(res.body.found).toBe(true);
    expect(res.body.phone).toBe(`+1${digits}`);
    const ids = (res.body.matches as { id: string }[]).map((m) => m.id);
    expect(ids).toContain(withPhone!.id);
    for (const match of res.body.matches as { phones: string[] }[])
      expect(match.phones).toContain(`+1${digits}`);
  });

  it('answers 200 {found: false} when nobody has the number', async () => {
    const res = await http(
      'GET',
      `${gw.url}/v1/patients/lookup?phone=${encodeURIComponent(await unusedNumber(1))}`,
    );
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ found: false, matches: [] });
  });

  it('reads a patient in the call-center model with its version as ETag', async () => {
    const [patient] = await samplePatients(1);
    const res = await http('GET', `${gw.url}/v1/patients/${patient!.id}`);
    expect(res.status).toBe(200);
    expect(res.body.id).toBe(patient!.id);
    expect(res.body.name.family).toEqual(expect.any(String));
    expect(res.body.birthDate).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    for (const phone of res.body.phones as string[]) expect(phone).toMatch(/^\+\d{8,15}$/);
    expect(res.headers.get('etag')).toBe(`W/"${patient!.meta!.versionId!}"`);
  });

  it('queues a phone correction, applies it once to the EHR and finds the patient by the new number', async () => {
    const patients = await samplePatients();
    const target = patients.find((p) => phoneDigits(p).length === 1)!;
    const oldDigits = phoneDigits(target)[0]!;
    const newNumber = await unusedNumber(2);
    const before = await http<FhirPatient>('GET', `${gw.fhirBase}/Patient/${target.id}`);

    const accepted = await http('PATCH', `${gw.url}/v1/patients/${target.id}`, {
      body: { phones: [`(${newNumber.slice(2, 5)}) ${newNumber.slice(5, 8)}-${newNumber.slice(8)}`] },
    });
    expect(accepted.status).toBe(202);
    const operationId = accepted.body.operationId as string;
    expect(operationId).toMatch(/^op_/);
    expect(accepted.headers.get('location')).toBe(`/v1/operations/${operationId}`);
    expect(accepted.body).toMatchObject({
      kind: 'patient.update',
      status: 'queued',
      patientId: target.id,
      attempts: 0,
    });

    const receipt = await waitFor(
      async () => {
        const r = await http('GET', `${gw.url}/v1/operations/${operationId}`);
        return r.body.status === 'succeeded' ? r.body : undefined;
      },
      { what: 'the operation to succeed' },
    );
    expect(receipt).toMatchObject({
      operationId,
      resourceRef: `Patient/${target.id}`,
      attempts: 1,
      lastError: null,
      review: null,
    });
    expect((receipt.history as { status: string }[]).map((h) => h.status)).toEqual([
      'queued',
      'sending',
      'succeeded',
    ]);

    // The EHR holds the new number, in E.164, instead of the old one, and only one new version.
    const after = await http<FhirPatient>('GET', `${gw.fhirBase}/Patient/${target.id}`);
    expect(after.body.telecom!.filter((t) => t.system === 'phone').map((t) => t.value)).toEqual([newNumber]);
    const history = await http('GET', `${gw.fhirBase}/Patient/${target.id}/_history`);
    const versions = (history.body.entry as unknown[]).length;
    expect(versions).toBe(2);
    expect(after.body.address).toEqual(before.body.address);

    const byNew = await http('GET', `${gw.url}/v1/patients/lookup?phone=${newNumber.slice(2)}`);
    expect((byNew.body.matches as { id: string }[]).map((m) => m.id)).toEqual([target.id]);
    const byOld = await http('GET', `${gw.url}/v1/patients/lookup?phone=${oldDigits}`);
    expect((byOld.body.matches as { id: string }[]).map((m) => m.id)).not.toContain(target.id);
  });

  it('accepts the same correction as a form POST, as IVR tools send it', async () => {
    const [, target] = await samplePatients(2);
    const newNumber = await unusedNumber(3);
    const accepted = await http('POST', `${gw.url}/v1/patients/${target!.id}/update`, {
      raw: `phones=${encodeURIComponent(newNumber)}&preferredLanguage=es`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(accepted.status).toBe(202);
    await waitFor(async () => {
      const r = await http('GET', `${gw.url}/v1/operations/${accepted.body.operationId as string}`);
      return r.body.status === 'succeeded' ? true : undefined;
    });
    const model = await http('GET', `${gw.url}/v1/patients/${target!.id}`);
    expect(model.body.phones).toEqual([newNumber]);
    expect(model.body.preferredLanguage).toBe('es');
  });
});
