/**
 * Draft profiles: a profile folder no connection runs yet (an engineer's copy of default) can be
 * explained, tried and given fixtures before a connection points at it, by the engineer of a tenant
 * holding every connection (drafts belong to no tenant, and their fixtures come from live records),
 * with records read from the tenant's own connections. To any other tenant a draft, like a folder
 * another tenant's connection runs, is exactly like no profile.
 */
import { cpSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../src/project-root';
import { acmeMappingsDir } from '../support/acme-profile';
import { http } from '../support/http';
import { scopedClient } from '../support/scoped-client';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { twoTenantConfig } from '../support/two-tenants';

jest.setTimeout(120000);

let dir: string;
let gw: TestGateway;
let home: Record<string, string>;
let desk: Record<string, string>;
let south: Record<string, string>;

beforeAll(async () => {
  dir = acmeMappingsDir();
  cpSync(join(projectRoot(), 'mappings', 'default'), join(dir, 'draft'), { recursive: true });
  gw = await startTestGateway({
    overrides: {
      // `ops` holds both connections: the gateway operator's tenant.
      ...twoTenantConfig({ ops: { connections: ['sandbox', 'other'] } }),
      mappings: { dir },
      // Tenant `default` runs default on `sandbox`; tenant `south` runs acme on `other`.
      connections: { sandbox: {}, other: { mappingProfile: 'acme' } },
    },
  });
  home = await scopedClient(gw.prefix, 'ops-engineer', ['mappings:write'], 'ops');
  desk = await scopedClient(gw.prefix, 'home-engineer', ['mappings:write'], 'default');
  south = await scopedClient(gw.prefix, 'south-engineer', ['mappings:write'], 'south');
});

afterAll(async () => {
  await gw.stop();
  rmSync(dir, { recursive: true, force: true });
});

const explain = (headers: Record<string, string>, profile: string) =>
  http('POST', `${gw.url}/v1/mappings/explain`, {
    headers,
    body: { profile, resourceType: 'Patient', id: 'pat-0001' },
  });

it('lists a draft to the tenant holding every connection, marked and without a running version', async () => {
  const mine = await http('GET', `${gw.url}/v1/mappings/profiles`, { headers: home });
  expect(mine.status).toBe(200);
  const names = mine.body.profiles.map((p: { name: string }) => p.name);
  expect(names).toEqual(['default', 'acme', 'draft']);
  const draft = mine.body.profiles[2];
  expect(draft).toMatchObject({ name: 'draft', draft: true, since: null, connections: [] });
  expect(draft).not.toHaveProperty('hash');
  expect(draft.filesHash).toMatch(/^[0-9a-f]{64}$/);
  expect(draft.fixtures.read).toBeGreaterThan(0);
  expect(mine.body.profiles[0]).toMatchObject({ name: 'default', draft: false, connections: ['sandbox'] });

  // Another tenant sees its own profile only: no draft.
  const theirs = await http('GET', `${gw.url}/v1/mappings/profiles`, { headers: south });
  expect(theirs.body.profiles.map((p: { name: string; draft: boolean }) => [p.name, p.draft])).toEqual([
    ['acme', false],
  ]);
});

it("explains, evaluates and takes fixtures on a draft with the tenant's own records", async () => {
  const explained = await explain(home, 'draft');
  expect(explained.status).toBe(200);
  expect(explained.body.profile).toMatchObject({ name: 'draft', edited: false });
  expect(explained.body.resource.id).toBe('pat-0001');
  const mrn = explained.body.fields.find((f: { field: string }) => f.field === 'mrn');
  expect(mrn).toMatchObject({ empty: false, file: 'patient.yaml' });

  // Any of the tenant's connections can lend the record.
  const viaOther = await http('POST', `${gw.url}/v1/mappings/explain`, {
    headers: home,
    body: { profile: 'draft', connection: 'other', resourceType: 'Patient', id: 'pat-0001' },
  });
  expect(viaOther.status).toBe(200);
  // A tenant holding only some connections does not reach drafts at all.
  const fromSouth = await http('POST', `${gw.url}/v1/mappings/explain`, {
    headers: south,
    body: { profile: 'draft', connection: 'other', resourceType: 'Patient', id: 'pat-0001' },
  });
  expect(fromSouth.status).toBe(404);

  const evaluated = await http('POST', `${gw.url}/v1/mappings/evaluate`, {
    headers: home,
    body: { profile: 'draft', resourceType: 'Patient', id: 'pat-0001', language: 'fhirpath', source: 'id' },
  });
  expect(evaluated.status).toBe(200);
  expect(evaluated.body.result).toEqual(['pat-0001']);

  const saved = await http('POST', `${gw.url}/v1/mappings/profiles/draft/fixtures`, {
    headers: home,
    body: { kind: 'read', name: 'draft-case', input: { resourceType: 'Patient', id: 'd-1', gender: 'male' } },
  });
  expect(saved.status).toBe(201);
  expect(existsSync(join(dir, 'draft', 'fixtures', 'read', 'draft-case.json'))).toBe(true);
});

it("keeps a folder another tenant's connection runs, and drafts, hidden from a tenant, like no profile at all", async () => {
  const missing = await explain(desk, 'nothing-here');
  for (const hidden of ['acme', 'draft']) {
    const answer = await explain(desk, hidden);
    expect(answer.status).toBe(404);
    expect(answer.body.detail).toBe(missing.body.detail.replace('nothing-here', hidden));
    expect((await http('GET', `${gw.url}/v1/mappings/profiles/${hidden}`, { headers: desk })).status).toBe(
      404,
    );
    const fixture = await http('POST', `${gw.url}/v1/mappings/profiles/${hidden}/fixtures`, {
      headers: desk,
      body: { kind: 'read', name: 'intruder', input: { resourceType: 'Patient', id: 'x-1' } },
    });
    expect(fixture.status).toBe(404);
    expect(existsSync(join(dir, hidden, 'fixtures', 'read', 'intruder.json'))).toBe(false);
  }
  // South runs acme: to south it is no draft.
  expect((await explain(south, 'acme')).status).toBe(200);
});
