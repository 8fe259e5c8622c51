/**
 * Stored profile versions: a copied profile (same files, so the same hash) is its own version, and
 * a write accepted under it applies as that profile, never as the one that stored the files first.
 * The stored files (fixtures may be saved from live records) are sealed in Redis; versions stored
 * in clear by an earlier release still read, and are sealed when next stored.
 */
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { readProfileFiles } from '../../src/mapping';
import { pinnedProfile } from '../../src/use-cases/pinned-profile';
import { TEST_REDIS_URL } from '../support/redis';
import { startUseCaseRig, type UseCaseRig } from '../support/use-case-rig';

jest.setTimeout(60000);

let rig: UseCaseRig;
let redis: Redis;
beforeAll(async () => {
  rig = await startUseCaseRig();
  redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 2 });
});
afterAll(async () => {
  redis.disconnect();
  await rig.stop();
});

const versionKey = (hash: string): string => `${rig.redis.prefix}:mapping:version:${hash}`;

it('keeps a copied profile with the same files as its own version, by name', async () => {
  const running = rig.connection.mapping;
  expect(running.name).toBe('default');
  const files = await readProfileFiles(join(rig.config.mappingsDir, 'default'));
  // acme, a copy of default not yet changed, loads after default stored the same files.
  await rig.deps.mappingVersions.put('acme', running.hash, files);

  const stored = await rig.deps.mappingVersions.get(running.hash);
  expect(stored).toMatchObject({ name: 'default', names: ['acme', 'default'], hash: running.hash });

  const acme = await rig.deps.mappingCatalog.version('acme', running.hash);
  expect(acme).toMatchObject({ name: 'acme', hash: running.hash });
  expect((await rig.deps.mappingCatalog.version('default', running.hash))?.name).toBe('default');
  // A profile that never stored these files has no such version.
  expect(await rig.deps.mappingCatalog.version('globex', running.hash)).toBeUndefined();

  // A write accepted under acme runs as acme, though default with the same hash is running here.
  const op = { id: 'op_acme_copy', mappingProfile: 'acme', mappingHash: running.hash };
  expect((await pinnedProfile(rig.deps, rig.connection, op)).name).toBe('acme');
  const unknown = { id: 'op_globex', mappingProfile: 'globex', mappingHash: running.hash };
  // Not stored under that name: it applies with the running version, and the log says so.
  expect((await pinnedProfile(rig.deps, rig.connection, unknown)).name).toBe('default');
  expect(rig.logs.text()).toContain('op_globex');
});

it('seals the stored files, and reads and then seals a version stored in clear', async () => {
  const hash = rig.connection.mapping.hash;
  const raw = await redis.getBuffer(versionKey(hash));
  expect(raw).not.toBeNull();
  const text = raw!.toString('latin1');
  // Neither fixture records nor the profile's files are readable in Redis.
  expect(text).not.toContain('resourceType');
  expect(text).not.toContain('pat-1004');
  expect(text).not.toContain('patient.yaml');
  expect((await rig.deps.mappingVersions.get(hash))?.files['patient.yaml']).toContain('read:');

  const legacyHash = 'c'.repeat(64);
  const legacy = { name: 'old', storedAt: '2030-01-01T00:00:00.000Z', files: { 'profile.yaml': 'x: 1\n' } };
  await redis.set(versionKey(legacyHash), JSON.stringify(legacy));
  expect(await rig.deps.mappingVersions.get(legacyHash)).toEqual({
    ...legacy,
    names: ['old'],
    hash: legacyHash,
  });
  await rig.deps.mappingVersions.put('old', legacyHash, new Map([['profile.yaml', Buffer.from('x: 1\n')]]));
  expect((await redis.getBuffer(versionKey(legacyHash)))!.toString('latin1')).not.toContain('profile.yaml');
  expect(await rig.deps.mappingVersions.get(legacyHash)).toMatchObject({
    name: 'old',
    storedAt: legacy.storedAt,
    files: legacy.files,
  });
});
