/**
 * Updates never silently overwrite: an edit based on a stale version is re-based when the EHR's
 * change touched other fields, and goes to review with a diff when it touched the same ones.
 */
import { http } from '../support/http';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { waitFor } from '../support/wait-for';

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway();
});
afterAll(async () => {
  await gw.stop();
});

async function patient(index: number): Promise<any> {
  const bundle = await http('GET', `${gw.fhirBase}/Patient?_count=${index + 1}`);
  return bundle.body.entry[index].resource;
}

/** A front-desk edit made straight in the EHR, as another system would. */
async function editInEhr(resource: any, change: (p: any) => void): Promise<string> {
  const current = (await http('GET', `${gw.fhirBase}/Patient/${resource.id as string}`)).body;
  change(current);
  const put = await http('PUT', `${gw.fhirBase}/Patient/${resource.id as string}`, {
    body: current,
    headers: { 'content-type': 'application/fhir+json' },
  });
  expect(put.status).toBe(200);
  return put.body.meta.versionId as string;
}

async function finalReceipt(operationId: string): Promise<any> {
  return waitFor(async () => {
    const r = await http('GET', `${gw.url}/v1/operations/${operationId}`);
    return ['succeeded', 'failed', 'needs-review'].includes(r.body.status as string) ? r.body : undefined;
  });
}

it('re-bases a stale edit whose fields the EHR did not change, keeping the EHR change', async () => {
  const p = await patient(3);
  const seenVersion = p.meta.versionId as string;
  await editInEhr(p, (r) => {
    r.address = [
      { use: 'home', line: ['1 Relocated Way'], city: 'Boston', state: 'MA', postalCode: '02110' },
    ];
  });

  const res = await http('PATCH', `${gw.url}/v1/patients/${p.id as string}`, {
    body: { email: 'rebased@example.org' },
    headers: { 'if-match': `W/"${seenVersion}"` },
  });
  expect(res.status).toBe(202);
  const receipt = await finalReceipt(res.body.operationId as string);
  expect(receipt.status).toBe('succeeded');

  const after = (await http('GET', `${gw.url}/v1/patients/${p.id as string}`)).body;
  expect(after.email).toBe('rebased@example.org');
  expect(after.address.line).toEqual(['1 Relocated Way']);
});

it('sends an edit to review, with a field diff, when the EHR changed the same field meanwhile', async () => {
  const p = await patient(4);
  const seenVersion = p.meta.versionId as string;
  const ehrVersion = await editInEhr(p, (r) => {
    r.telecom = [{ system: 'phone', value: '+12125550177', use: 'home' }];
  });

  const res = await http('PATCH', `${gw.url}/v1/patients/${p.id as string}`, {
    body: { phones: ['+1 212 555 0188'] },
    headers: { 'if-match': `W/"${seenVersion}"` },
  });
  expect(res.status).toBe(202);
  const receipt = await finalReceipt(res.body.operationId as string);
  expect(receipt.status).toBe('needs-review');
  expect(receipt.lastError.code).toBe('CONFLICT');
  expect(receipt.review.fields.map((f: { element: string }) => f.element)).toEqual(['phones']);
  expect(receipt.review.fields[0].current).toEqual(['+12125550177']);

  // Nothing was written over the front desk's change.
  const ehr = (await http('GET', `${gw.fhirBase}/Patient/${p.id as string}`)).body;
  expect(ehr.meta.versionId).toBe(ehrVersion);
  expect(ehr.telecom).toEqual([{ system: 'phone', value: '+12125550177', use: 'home' }]);
});

it('does not write again when the EHR already holds the change', async () => {
  const p = await patient(5);
  const first = await http('PATCH', `${gw.url}/v1/patients/${p.id as string}`, {
    body: { email: 'same@example.org' },
  });
  await finalReceipt(first.body.operationId as string);
  const version = (await http('GET', `${gw.fhirBase}/Patient/${p.id as string}`)).body.meta
    .versionId as string;

  const again = await http('PATCH', `${gw.url}/v1/patients/${p.id as string}`, {
    body: { email: 'same@example.org' },
  });
  const receipt = await finalReceipt(again.body.operationId as string);
  expect(receipt.status).toBe('succeeded');
  expect((await http('GET', `${gw.fhirBase}/Patient/${p.id as string}`)).body.meta.versionId).toBe(version);
});
