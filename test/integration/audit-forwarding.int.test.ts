/**
 * The audit trail copied to the EHR's own audit log (connection setting `auditForwarding`): the
 * workers create each record about the connection there as a FHIR AuditEvent, once, and an EHR
 * outage only delays the copy.
 */
import { http } from '../support/http';
import { setFaults } from '../support/pipeline';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { waitFor } from '../support/wait-for';

jest.setTimeout(60000);

let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway({
    overrides: {
      sandbox: { enabled: true, patientCount: 60 },
      connections: {
        sandbox: {
          auditForwarding: { enabled: true, intervalMs: 500 },
          breaker: { failureThreshold: 1, probeIntervalMs: 400 },
        },
      },
    },
  });
});

afterAll(async () => {
  await gw.stop();
});

async function auditEventsAbout(patientId: string): Promise<any[]> {
  const bundle = await http('GET', `${gw.fhirBase}/AuditEvent?entity=Patient/${patientId}&_count=100`);
  expect(bundle.status).toBe(200);
  return ((bundle.body.entry ?? []) as { resource: unknown }[]).map((e) => e.resource);
}

it('creates each audit record about the connection in the EHR, once, after an outage too', async () => {
  expect(
    (await http('GET', `${gw.url}/v1/patients/pat-0040`, { headers: { 'x-agent-id': 'agent-40' } })).status,
  ).toBe(200);
  const copied = await waitFor(async () => {
    const events = await auditEventsAbout('pat-0040');
    return events.length >= 1 ? events : undefined;
  });
  expect(copied).toHaveLength(1);
  expect(copied[0]).toMatchObject({
    resourceType: 'AuditEvent',
    action: 'R',
    outcome: '0',
    entity: expect.arrayContaining([expect.objectContaining({ what: { reference: 'Patient/pat-0040' } })]),
  });
  expect(copied[0].agent.map((a: any) => a.who.identifier?.value)).toContain('agent-40');

  // With the EHR down, reads are served from the cache and recorded; the copy waits for the EHR.
  await setFaults(gw.url, { mode: 'down' });
  try {
    const cached = await http('GET', `${gw.url}/v1/patients/pat-0040`);
    expect(cached.status).toBe(200);
  } finally {
    await setFaults(gw.url, { mode: 'up' });
  }
  const after = await waitFor(async () => {
    const events = await auditEventsAbout('pat-0040');
    return events.length >= 2 ? events : undefined;
  });
  expect(after).toHaveLength(2);
});
