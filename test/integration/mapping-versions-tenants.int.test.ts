/**
 * Stored profile versions and reloads are confined to the tenant whose connections use the profile:
 * a version of another tenant's profile (its fixtures may hold patient data saved from live
 * records) answers exactly like a hash never stored, a diff touching one likewise, and a reload's
 * outcome lists only the caller's profiles and their problems, although the reload is process-wide.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { acmeMappingsDir } from '../support/acme-profile';
import { http } from '../support/http';
import { scopedClient } from '../support/scoped-client';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { twoTenantConfig } from '../support/two-tenants';

jest.setTimeout(120000);

const NEVER_STORED = 'f'.repeat(64);

let dir: string;
let gw: TestGateway;
let acmeSide: Record<string, string>;
let southSide: Record<string, string>;
let acmeHash: string;
let defaultHash: string;

beforeAll(async () => {
  dir = acmeMappingsDir();
  const base = twoTenantConfig();
  gw = await startTestGateway({
    overrides: {
      ...base,
      mappings: { dir },
      // Tenant `default` runs acme on `sandbox`; tenant `south` runs the default profile on `other`.
      connections: { sandbox: { mappingProfile: 'acme' }, other: {} },
    },
  });
  acmeSide = await scopedClient(gw.prefix, 'acme-engineer', ['mappings:write', 'operations:read'], 'default');
  southSide = await scopedClient(gw.prefix, 'south-engineer', ['mappings:write', 'operations:read'], 'south');
  const hashOf = async (headers: Record<string, string>, name: string): Promise<string> => {
    const status = await http('GET', `${gw.url}/v1/status`, { headers });
    expect(status.status).toBe(200);
    const profiles = status.body.mappings.profiles as { name: string; hash: string }[];
    expect(profiles.map((profile) => profile.name)).toEqual([name]);
    return profiles[0]!.hash;
  };
  acmeHash = await hashOf(acmeSide, 'acme');
  defaultHash = await hashOf(southSide, 'default');
});

afterAll(async () => {
  await gw.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** A 404 body without the hash it names and its request id, to compare two answers word for word. */
async function notFound(headers: Record<string, string>, path: string, hash: string) {
  const res = await http('GET', `${gw.url}${path}`, { headers });
  expect(res.status).toBe(404);
  const { requestId: _each, ...body } = res.body as Record<string, unknown>;
  return JSON.parse(JSON.stringify(body).replaceAll(hash, '<hash>')) as unknown;
}

it('shows a version and a diff only to the tenant whose connection uses the profile', async () => {
  expect(acmeHash).not.toBe(defaultHash);

  const own = await http('GET', `${gw.url}/v1/mappings/versions/${acmeHash}`, { headers: acmeSide });
  expect(own.status).toBe(200);
  expect(own.body).toMatchObject({ name: 'acme', hash: acmeHash });
  expect(Object.keys(own.body.files)).toEqual(expect.arrayContaining(['profile.yaml']));
  const theirs = await http('GET', `${gw.url}/v1/mappings/versions/${defaultHash}`, { headers: southSide });
  expect(theirs.status).toBe(200);
  expect(theirs.body.name).toBe('default');

  // The other tenant's version answers like one never stored: nothing says it exists.
  const unknown = await notFound(acmeSide, `/v1/mappings/versions/${NEVER_STORED}`, NEVER_STORED);
  expect(await notFound(acmeSide, `/v1/mappings/versions/${defaultHash}`, defaultHash)).toEqual(unknown);
  expect(await notFound(southSide, `/v1/mappings/versions/${acmeHash}`, acmeHash)).toEqual(unknown);

  // A diff against the other tenant's version shows none of its files either.
  const diffUnknown = await notFound(
    acmeSide,
    `/v1/mappings/diff?from=${acmeHash}&to=${NEVER_STORED}`,
    NEVER_STORED,
  );
  const diffTheirs = await notFound(
    acmeSide,
    `/v1/mappings/diff?from=${acmeHash}&to=${defaultHash}`,
    defaultHash,
  );
  expect(diffTheirs).toEqual(diffUnknown);
  expect(JSON.stringify(diffTheirs)).not.toContain('profile.yaml');
  const southDiff = await http('GET', `${gw.url}/v1/mappings/diff?from=${defaultHash}&to=${acmeHash}`, {
    headers: southSide,
  });
  expect(southDiff.status).toBe(404);
  expect(JSON.stringify(southDiff.body)).not.toContain('acme');

  const same = await http('GET', `${gw.url}/v1/mappings/diff?from=${acmeHash}&to=${acmeHash}`, {
    headers: acmeSide,
  });
  expect(same.status).toBe(200);
  expect(same.body).toMatchObject({ from: { name: 'acme' }, to: { name: 'acme' }, files: [] });
});

it("lists only the caller's profiles and their problems in a reload's outcome", async () => {
  const ok = await http('POST', `${gw.url}/v1/mappings/reload`, { headers: southSide });
  expect(ok.status).toBe(200);
  expect(ok.body).toMatchObject({ ok: true, trigger: 'api', problems: [] });
  expect(ok.body.profiles.map((profile: { name: string }) => profile.name)).toEqual(['default']);
  expect(ok.body).not.toHaveProperty('concerns');

  // Acme's engineer breaks acme: the process-wide reload is refused for both tenants.
  const file = join(dir, 'acme', 'patient.yaml');
  const good = readFileSync(file, 'utf8');
  writeFileSync(file, good.replace('  name:', '  nmae:'));
  try {
    const mine = await http('POST', `${gw.url}/v1/mappings/reload`, { headers: acmeSide });
    expect(mine.status).toBe(422);
    expect(mine.body.problems.length).toBeGreaterThan(0);
    expect(mine.body.problems.join('\n')).toContain(join('acme', 'patient.yaml'));
    expect(mine.body.outcome.profiles.map((profile: { name: string }) => profile.name)).toEqual(['acme']);

    const south = await http('POST', `${gw.url}/v1/mappings/reload`, { headers: southSide });
    expect(south.status).toBe(422);
    const text = JSON.stringify(south.body);
    expect(text).not.toContain('acme');
    expect(text).not.toContain('nmae');
    expect(south.body.problems).toEqual([expect.stringMatching(/other tenants/)]);
    expect(south.body.outcome.profiles.map((profile: { name: string }) => profile.name)).toEqual(['default']);

    // The last attempt, as status and the profile list show it to south, names nothing of acme.
    const status = await http('GET', `${gw.url}/v1/status`, { headers: southSide });
    expect(status.body.mappings.lastReload.ok).toBe(false);
    expect(JSON.stringify(status.body.mappings)).not.toContain('acme');
    const listing = await http('GET', `${gw.url}/v1/mappings/profiles`, { headers: southSide });
    expect(listing.status).toBe(200);
    expect(JSON.stringify(listing.body)).not.toContain('acme');
  } finally {
    writeFileSync(file, good);
  }
  const fixed = await http('POST', `${gw.url}/v1/mappings/reload`, { headers: acmeSide });
  expect(fixed.status).toBe(200);
  expect(fixed.body.profiles.map((profile: { name: string }) => profile.name)).toEqual(['acme']);
});
