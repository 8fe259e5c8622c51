import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadMappingProfile, runProfileFixtures } from '../../src/mapping';
import type { FixtureResult } from '../../src/mapping';

const DEFAULT_DIR = join(__dirname, '..', '..', 'mappings', 'default');

describe('a profile fixture set', () => {
  let root: string;
  let dir: string;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'continuum-fixtures-'));
    dir = join(root, 'acme');
    await cp(DEFAULT_DIR, dir, { recursive: true });
  });

  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  async function run(): Promise<FixtureResult[]> {
    return runProfileFixtures(dir, await loadMappingProfile(dir, { defaultRegion: 'US' }));
  }

  it('covers every template of the default profile, booking and cancellation included', async () => {
    const results = await run();
    expect(results.filter((result) => !result.passed)).toEqual([]);
    const names = results.map((result) => result.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'appointment-book/video-follow-up-with-schedule',
        'appointment-write/cancel-with-reason',
        'appointment-write/cancel-without-reason',
        'create/with-mrn-and-contacts',
      ]),
    );
    expect(names.filter((name) => name.startsWith('('))).toEqual([]);
  });

  it('fails on a folder or file it does not know, naming it by the path it has', async () => {
    await mkdir(join(dir, 'fixtures', 'reed'));
    await writeFile(join(dir, 'fixtures', 'reed', 'typo-kind.json'), '{}');
    await mkdir(join(dir, 'fixtures', 'empty-kind'));
    await writeFile(join(dir, 'fixtures', 'read', 'notes.txt'), 'remember to add more');
    const failed = (await run()).filter((result) => !result.passed);
    const notAKind = (name: string) =>
      `not a fixture kind: '${name}' is none of the folders read, write, create, appointment-read, appointment-book, appointment-write, slot-read, call-write, callback-write`;
    expect(failed).toEqual([
      { name: 'empty-kind', path: 'fixtures/empty-kind', passed: false, diff: notAKind('empty-kind') },
      {
        name: 'read/notes.txt',
        path: 'fixtures/read/notes.txt',
        passed: false,
        diff: 'not a fixture: fixtures are .json files',
      },
      { name: 'reed/typo-kind', path: 'fixtures/reed/typo-kind.json', passed: false, diff: notAKind('reed') },
    ]);
  });

  it('fails for each template no fixture exercises, naming the template', async () => {
    await rm(join(dir, 'fixtures', 'appointment-book'), { recursive: true });
    await rm(join(dir, 'fixtures', 'appointment-write', 'cancel-with-reason.json'));
    await rm(join(dir, 'fixtures', 'appointment-write', 'cancel-without-reason.json'));
    await rm(join(dir, 'fixtures', 'appointment-write', 'cancel-with-unknown-reason.json'));
    await rm(join(dir, 'fixtures', 'callback-write'), { recursive: true });
    const failed = (await run()).filter((result) => !result.passed);
    expect(failed).toEqual([
      {
        name: '(book)',
        path: 'fixtures',
        passed: false,
        diff: 'no fixture exercises the book template: add one to fixtures/appointment-book',
      },
      {
        name: '(callback)',
        path: 'fixtures',
        passed: false,
        diff: 'no fixture exercises the callback template: add one to fixtures/callback-write',
      },
      {
        name: '(cancel)',
        path: 'fixtures',
        passed: false,
        diff: 'no fixture exercises the cancel template: add one to fixtures/appointment-write (action cancel)',
      },
    ]);
  });

  it('runs a cancellation through the profile: a wrong code in the table shows as a difference', async () => {
    const path = join(dir, 'appointment.yaml');
    await writeFile(path, (await readFile(path, 'utf8')).replace('      pat: patient-request\n', ''));
    const failed = (await run()).filter((result) => !result.passed);
    expect(failed.map((result) => result.name)).toContain('appointment-write/cancel-with-reason');
    expect(failed.find((result) => result.name === 'appointment-write/cancel-with-reason')?.diff).toContain(
      'cancelationReason.coding[0].code: expected "pat", got "pat-crs"',
    );
  });
});
