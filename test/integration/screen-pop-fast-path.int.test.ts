/**
 * The screen pop on the fast path: a number the phone index knows is answered by reads by id, each
 * record confirming the number is still its patient's, with no phone search; a number that moved to
 * another patient is caught by that confirmation and answered by a search, and the index is
 * corrected; a number the index does not know is searched. A recording proxy in front of the
 * sandbox shows what reached the EHR; patients are registered and changed in the EHR directly, as a
 * front desk would, so only the EHR tells the gateway about them.
 */
import { http, phoneDigits } from '../support/http';
import { setFaults } from '../support/pipeline';
import { parseExposition } from '../support/prometheus-text';
import { startProxiedGateway, type ProxiedGateway } from '../support/proxied-gateway';
import { scopedClient } from '../support/scoped-client';
import { waitFor } from '../support/wait-for';

let proxied: ProxiedGateway;
let desk: Record<string, string>;
let ivr: Record<string, string>;

beforeAll(async () => {
  proxied = await startProxiedGateway({
    // One background recheck per number for the whole test: its searches are counted below.
    connection: { capabilities: { phoneSearchQuery: 'combined' }, lookupRecheckSeconds: 3600 },
  });
  desk = await scopedClient(proxied.gw.prefix, 'agent-desktop', ['patients:read']);
  ivr = await scopedClient(proxied.gw.prefix, 'ivr', ['patients:lookup']);
});
afterAll(async () => {
  await setFaults(proxied.gw.url, { mode: 'up' });
  await proxied.stop();
});

const lookup = (phone: string, headers = desk) =>
  http('GET', `${proxied.gw.url}/v1/patients/lookup?phone=${encodeURIComponent(phone)}`, { headers });
const ids = (body: { matches: { id: string }[] }): string[] => body.matches.map((m) => m.id);
const phoneSearches = () => proxied.sent('GET', /\/Patient\?(.*&)?phone=/);
const readsOf = (id: string) => proxied.sent('GET', new RegExp(`/Patient/${id}$`));
const forget = (): void => {
  proxied.proxy.seen.length = 0;
};

/** A patient registered in the EHR directly (not through Continuum), with this phone text. */
async function registerInEhr(family: string, phone: string): Promise<string> {
  const res = await http('POST', `${proxied.gw.fhirBase}/Patient`, {
    body: {
      resourceType: 'Patient',
      name: [{ family, given: ['Dana'] }],
      birthDate: '1984-03-02',
      telecom: [{ system: 'phone', value: phone, use: 'home' }],
    },
  });
  if (res.status !== 201) throw new Error(`the EHR refused the patient: ${res.status}`);
  return res.body.id as string;
}

/** The patient's phone changed at the EHR's front desk. */
async function changePhoneInEhr(id: string, phone: string): Promise<void> {
  const current = (await http('GET', `${proxied.gw.fhirBase}/Patient/${id}`)).body;
  const res = await http('PUT', `${proxied.gw.fhirBase}/Patient/${id}`, {
    body: { ...current, telecom: [{ system: 'phone', value: phone, use: 'home' }] },
  });
  if (res.status !== 200) throw new Error(`the EHR refused the change: ${res.status}`);
}

async function lookupsBy(path: string): Promise<number> {
  const res = await fetch(`${proxied.gw.url}/metrics`, {
    headers: { authorization: `Bearer ${proxied.gw.key}` },
  });
  return parseExposition(await res.text()).value('continuum_lookups_total', { path }) ?? 0;
}

it('searches a number the index does not know, then answers it by reads by id with no phone search', async () => {
  const id = await registerInEhr('Okafor', '(907) 555-0171');

  forget();
  const miss = await lookup('907-555-0171');
  expect(miss.status).toBe(200);
  expect(miss.body).toMatchObject({ found: true, phone: '+19075550171', freshness: { source: 'ehr' } });
  expect(ids(miss.body)).toEqual([id]);
  expect(phoneSearches()).toHaveLength(1);

  const searchedBefore = await lookupsBy('search');
  const indexedBefore = await lookupsBy('index');
  forget();
  const hit = await lookup('+1 907 555 0171');
  expect(hit.status).toBe(200);
  expect(hit.body).toMatchObject({ found: true, freshness: { source: 'ehr' } });
  expect(ids(hit.body)).toEqual([id]);
  expect(hit.body.matches[0].name.family).toBe('Okafor');
  expect(readsOf(id)).toHaveLength(1);
  expect(phoneSearches()).toEqual([]);
  expect(proxied.proxy.seen).toHaveLength(1);

  // An IVR with the lookup scope alone learns the id, nothing else, on this path too.
  const idsOnly = await lookup('9075550171', ivr);
  expect(idsOnly.body).toEqual({
    found: true,
    count: 1,
    matches: [{ id }],
    freshness: { source: 'ehr', asOf: expect.any(String) },
  });
  expect(phoneSearches()).toEqual([]);
  expect(await lookupsBy('index')).toBe(indexedBefore + 2);
  expect(await lookupsBy('search')).toBe(searchedBefore);
});

it('answers a number that moved to another patient by a search, and corrects the index', async () => {
  const before = await registerInEhr('Lindqvist', '907-555-0172');
  expect(ids((await lookup('+19075550172')).body)).toEqual([before]);

  // At the front desk, the number goes to someone else and the first patient gets a new one.
  await changePhoneInEhr(before, '907-555-0173');
  const after = await registerInEhr('Moreau', '907.555.0172');

  forget();
  const moved = await lookup('+19075550172');
  expect(moved.status).toBe(200);
  expect(moved.body).toMatchObject({ found: true, freshness: { source: 'ehr' } });
  expect(ids(moved.body)).toEqual([after]);
  expect(readsOf(before)).toHaveLength(1);
  expect(phoneSearches()).toHaveLength(1);

  // The index followed the EHR: the number now reads the new patient only, with no search; the
  // first patient is found under the number they have now.
  forget();
  const again = await lookup('+19075550172');
  expect(ids(again.body)).toEqual([after]);
  expect(readsOf(after)).toHaveLength(1);
  expect(readsOf(before)).toEqual([]);
  expect(phoneSearches()).toEqual([]);
  expect(ids((await lookup('+19075550173')).body)).toEqual([before]);
});

it('answers by id at once and learns of a family member registered in the EHR by one background search', async () => {
  const parent = await registerInEhr('Haddad', '907-555-0174');
  // The gateway learns the number from a read, not a search: the index knows it, no search was made.
  const read = await http('GET', `${proxied.gw.url}/v1/patients/${parent}`, { headers: desk });
  expect(read.body.phones).toEqual(['+19075550174']);
  const child = await registerInEhr('Haddad', '(907) 555-0174');

  forget();
  const first = await lookup('+19075550174');
  expect(ids(first.body)).toEqual([parent]);
  expect(readsOf(parent)).toHaveLength(1);

  // The search in the background brought the child into the index: later calls show both, by id.
  const both = await waitFor(
    async () => {
      const res = await lookup('+19075550174');
      return ids(res.body).length === 2 ? res : undefined;
    },
    { what: 'the family member in the lookup', timeoutMs: 15000 },
  );
  expect(ids(both.body)).toEqual([parent, child].sort());
  expect(phoneSearches()).toHaveLength(1);
  forget();
  await lookup('+19075550174');
  expect(phoneSearches()).toEqual([]);
  expect(readsOf(child)).toHaveLength(1);
});

it('answers from the cache what the index knows while the EHR is down, and 503 for what it does not', async () => {
  const id = await registerInEhr('Nakamura', '907-555-0175');
  expect(ids((await lookup('+19075550175')).body)).toEqual([id]);

  await setFaults(proxied.gw.url, { mode: 'down', kind: 'refuse' });
  const cached = await lookup('+19075550175');
  expect(cached.status).toBe(200);
  expect(cached.body).toMatchObject({ found: true, freshness: { source: 'cache' } });
  expect(ids(cached.body)).toEqual([id]);
  expect(cached.body.matches[0].name.family).toBe('Nakamura');

  const unknown = await lookup('+19075550176');
  expect(unknown.status).toBe(503);
  expect(unknown.body.found).toBeUndefined();
  await setFaults(proxied.gw.url, { mode: 'up' });
});

describe('several stored formats searched one query per format', () => {
  let parallel: ProxiedGateway;
  let parallelDesk: Record<string, string>;
  beforeAll(async () => {
    parallel = await startProxiedGateway({ connection: { capabilities: { phoneSearchQuery: 'parallel' } } });
    parallelDesk = await scopedClient(parallel.gw.prefix, 'agent-desktop', ['patients:read']);
  });
  afterAll(async () => {
    await parallel.stop();
  });

  it('sends one search per format and answers the same patients as the combined query', async () => {
    // The same seed in both sandboxes: numbers stored in every format, family lines shared.
    const bundle = await http('GET', `${proxied.gw.fhirBase}/Patient?_count=60`);
    const numbers = [
      ...new Set(
        (bundle.body.entry as { resource: Parameters<typeof phoneDigits>[0] }[])
          .flatMap((e) => phoneDigits(e.resource))
          .filter((digits) => digits.length === 10)
          .map((digits) => `+1${digits}`),
      ),
    ].slice(0, 6);
    expect(numbers.length).toBeGreaterThan(3);

    for (const number of numbers) {
      const combined = await lookup(number);
      parallel.proxy.seen.length = 0;
      const perFormat = await http(
        'GET',
        `${parallel.gw.url}/v1/patients/lookup?phone=${encodeURIComponent(number)}`,
        { headers: parallelDesk },
      );
      expect({ number, status: perFormat.status, ids: ids(perFormat.body) }).toEqual({
        number,
        status: 200,
        ids: ids(combined.body),
      });
      const searches = parallel.sent('GET', /\/Patient\?(.*&)?phone=/);
      // Each asks for one stored format (an unescaped comma would join several).
      const values = searches.map(
        (s) => new URL(s.url, parallel.proxy.origin).searchParams.get('phone') ?? '',
      );
      expect(values.every((v) => !/(^|[^\\]),/.test(v))).toBe(true);
      expect(new Set(values).size).toBe(values.length);
      expect(values.length).toBeGreaterThan(5);
      expect(values).toContain(number);
    }
  });

  it('fails the lookup when one of the searches fails, as the combined query would', async () => {
    const number = '+19075550177';
    parallel.proxy.interceptOnce(
      (s) => /\/Patient\?(.*&)?phone=/.test(s.url),
      () => Promise.reject(new Error('connection cut')),
    );
    const res = await http(
      'GET',
      `${parallel.gw.url}/v1/patients/lookup?phone=${encodeURIComponent(number)}`,
      { headers: parallelDesk },
    );
    expect(res.status).toBe(503);
    expect(res.body.code).toBe('EHR_UNAVAILABLE');
  });
});
