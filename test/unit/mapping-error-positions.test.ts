import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import jsonata from 'jsonata';
import { loadMappingProfile, runProfileFixtures } from '../../src/mapping';
import type { MappingProblem } from '../../src/mapping';
import { MappingEvaluationError } from '../../src/mapping/mapping-evaluation-error';

import { copyDefaultProfile, editProfileFile, loadError } from '../support/scratch-profile';

describe('profile errors a person can act on', () => {
  let root: string;
  let dir: string;

  beforeEach(async () => {
    ({ root, dir } = await copyDefaultProfile('continuum-errors-', 'acme'));
  });

  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  const edit = (file: string, from: string | RegExp, to: string): Promise<void> =>
    editProfileFile(dir, file, from, to);

  const problemsOf = async (): Promise<readonly MappingProblem[]> => (await loadError(dir)).problems;

  it('gives a template that does not parse with its line and column in the template', async () => {
    // The email template's `"value": $value` loses its comma: JSONata stops at `"use"` on line 4.
    await edit(
      'patient.yaml',
      '"value": $value,\n        "use": $existing.use',
      '"value": $value\n        "use": $existing.use',
    );
    expect(await problemsOf()).toEqual([
      {
        file: join(dir, 'patient.yaml'),
        field: 'write.email.template',
        message: 'JSONata does not compile: Expected "}", got "use" (template line 4, column 7)',
      },
    ]);
  });

  it('shows the message of a JSONata error at evaluation, with its line and column, never [object Object]', async () => {
    await edit('appointment.yaml', '"start": $value.slot.start,', '"start": $number($value.slot.start),');
    const problems = await problemsOf();
    expect(problems).toEqual([
      {
        file: join(dir, 'appointment.yaml'),
        field: 'book.template',
        message: expect.stringMatching(
          /^fails on a sample booking: Unable to cast value to a number: .* \(template line 14, column \d+\)$/,
        ) as unknown,
      },
    ]);
    expect(problems.map((problem) => problem.message).join('\n')).not.toContain('[object Object]');
  });

  it('says where a fixture is not valid JSON, by line and column', async () => {
    const profile = await loadMappingProfile(dir, { defaultRegion: 'US' });
    await writeFile(join(dir, 'fixtures', 'read', 'broken.json'), '{\n  "input": {},\n}\n');
    const results = await runProfileFixtures(dir, profile);
    expect(results.find((result) => result.name === 'read/broken')).toEqual({
      name: 'read/broken',
      path: 'fixtures/read/broken.json',
      passed: false,
      diff: expect.stringMatching(
        /^cannot read the fixture: .*JSON at position 17 \(line 3, column 1\)$/,
      ) as unknown,
    });
  });

  it('keeps the record out of an evaluation failure, and still says where the template stopped', async () => {
    const source = '{\n  "n": $number($value.phone)\n}';
    const cause = await jsonata(source)
      .evaluate({}, { value: { phone: 'Jane Doe 555-0100' } })
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    const error = new MappingEvaluationError('acme', 'write.phones.template', cause, source);
    expect(error.position).toEqual({ line: 2, column: expect.any(Number) as unknown });
    expect(JSON.stringify(error.mapping)).not.toContain('Jane');
    expect(error.message).not.toContain('Jane');
    expect(error.mapping.errorClass).toBe('JSONata D3030');
  });
});
