/**
 * An EHR that takes changes as whole resources (PUT): the PUT carries If-Match on the version the
 * worker read, so a front-desk edit landing between that read and the PUT is not overwritten; the
 * agent's change is applied on top of it instead.
 */
import { http } from '../support/http';
import { history, waitForFinal } from '../support/pipeline';
import { startProxiedGateway, type ProxiedGateway } from '../support/proxied-gateway';

jest.setTimeout(60000);

let proxied: ProxiedGateway;
beforeAll(async () => {
  proxied = await startProxiedGateway({ connection: { capabilities: { update: 'put' } } });
});
afterAll(async () => {
  await proxied.stop();
});

const cityOf = (patient: any): string | undefined => patient.address?.[0]?.city;
const emailOf = (patient: any): string | undefined =>
  (patient.telecom ?? []).find((t: any) => t.system === 'email')?.value;

it("keeps a front-desk edit made between the worker's read and its PUT, and applies the agent's change on top", async () => {
  const { gw, proxy } = proxied;
  const id = 'pat-0094';
  const path = new RegExp(`/Patient/${id}$`);
  let deskVersion: string | undefined;
  // The desk saves its edit straight to the EHR at the worst moment: after the worker's read.
  proxy.interceptOnce(
    (r) => r.method === 'PUT' && path.test(r.url),
    async () => {
      const current = (await http('GET', `${gw.fhirBase}/Patient/${id}`)).body;
      const edited = await http('PUT', `${gw.fhirBase}/Patient/${id}`, {
        body: {
          ...current,
          address: [{ use: 'home', line: ['1 Desk Way'], city: 'Deskville', state: 'MA' }],
        },
        headers: { 'content-type': 'application/fhir+json' },
      });
      if (edited.status !== 200) throw new Error(`the desk's edit answered ${edited.status}`);
      deskVersion = edited.body.meta.versionId as string;
    },
  );

  const res = await http('PATCH', `${gw.url}/v1/patients/${id}`, {
    body: { email: 'agent-put@example.org' },
  });
  expect(res.status).toBe(202);
  const [receipt] = await waitForFinal(gw.url, [res.body.operationId as string]);
  expect(receipt.status).toBe('succeeded');
  expect(deskVersion).toBeDefined();

  // Both edits are in the EHR: the desk's address survived the agent's PUT.
  const final = (await http('GET', `${gw.fhirBase}/Patient/${id}`)).body;
  expect({ email: emailOf(final), city: cityOf(final) }).toEqual({
    email: 'agent-put@example.org',
    city: 'Deskville',
  });
  // No version after the desk's ever lost its address (an overwrite followed by a repair would).
  const versions = await history(gw.fhirBase, `Patient/${id}`);
  const afterDesk = versions.filter((v) => Number(v.meta.versionId) > Number(deskVersion));
  expect(afterDesk.map(cityOf)).toEqual(afterDesk.map(() => 'Deskville'));

  // Every PUT was conditional; the first one, on the version read before the desk's edit, was refused.
  const puts = proxied.sent('PUT', path);
  expect(puts.length).toBeGreaterThanOrEqual(2);
  expect(puts.map((p) => p.ifMatch)).toEqual(puts.map(() => expect.stringMatching(/^W\/"\d+"$/)));
  expect(puts[0]?.ifMatch).not.toBe(`W/"${String(deskVersion)}"`);
  expect(proxied.sent('PATCH', path)).toEqual([]);
});
