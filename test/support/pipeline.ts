/** Helpers for write-pipeline tests: fault switch, receipts, and the EHR's own record of changes. */
import { http } from './http';
import { startTestGateway, type TestGateway } from './test-gateway';
import { waitFor } from './wait-for';

export const FINAL = ['succeeded', 'failed', 'needs-review', 'cancelled'];

export async function setFaults(gatewayUrl: string, mode: Record<string, unknown>): Promise<void> {
  const res = await http('POST', `${gatewayUrl}/sandbox/admin/faults`, { body: mode });
  if (res.status >= 300) throw new Error(`fault switch refused ${JSON.stringify(mode)}: ${res.status}`);
}

export async function receipt(gatewayUrl: string, operationId: string): Promise<any> {
  return (await http('GET', `${gatewayUrl}/v1/operations/${operationId}`)).body;
}

export async function waitForFinal(
  gatewayUrl: string,
  operationIds: readonly string[],
  timeoutMs = 60000,
): Promise<any[]> {
  return waitFor(
    async () => {
      const receipts = await Promise.all(operationIds.map((id) => receipt(gatewayUrl, id)));
      return receipts.every((r) => FINAL.includes(r.status as string)) ? receipts : undefined;
    },
    { timeoutMs, intervalMs: 200, what: `${operationIds.length} operations to finish` },
  );
}

/** Every version of a resource, oldest first, from the EHR's own history. */
export async function history(fhirBase: string, ref: string): Promise<any[]> {
  const bundle = (await http('GET', `${fhirBase}/${ref}/_history?_count=1000`)).body;
  return ((bundle.entry ?? []) as { resource: any }[])
    .map((e) => e.resource)
    .sort((a, b) => Number(a.meta.versionId) - Number(b.meta.versionId));
}

export function emailOf(patient: any): string | undefined {
  return (patient.telecom ?? []).find((t: any) => t.system === 'email')?.value;
}

/**
 * One gateway per test file on its in-process sandbox, set up for pipeline tests: writes uncapped,
 * a breaker that opens after `failureThreshold` failures and probes every 400 ms, and the sandbox
 * put back up after each test so a fault never leaks into the next. Call the returned function
 * inside tests for the gateway.
 */
export function useSandboxGateway(
  options: { readonly failureThreshold?: number; readonly readDeadlineMs?: number } = {},
): () => TestGateway {
  let gateway: TestGateway | undefined;
  const current = (): TestGateway => {
    if (gateway === undefined) throw new Error('the gateway is not started yet');
    return gateway;
  };
  beforeAll(async () => {
    gateway = await startTestGateway({
      overrides: {
        sandbox: { enabled: true, patientCount: 220 },
        connections: {
          sandbox: {
            maxWritesPerSecond: 0,
            breaker: { failureThreshold: options.failureThreshold ?? 3, probeIntervalMs: 400 },
            ...(options.readDeadlineMs !== undefined ? { readDeadlineMs: options.readDeadlineMs } : {}),
          },
        },
      },
    });
  });
  afterEach(async () => {
    await setFaults(current().url, { mode: 'up' });
  });
  afterAll(async () => {
    await gateway?.stop();
  });
  return current;
}
