import { rm } from 'node:fs/promises';
import { loadMappingProfile, MappingProfileError } from '../../src/mapping';
import { compileTemplate } from '../../src/mapping/jsonata-template';
import { copyDefaultProfile, editProfileFile } from '../support/scratch-profile';

/**
 * A template that never ends used to hold the event loop for good (JSONata turns tail calls into a
 * loop that never yields), so one evaluate call froze the gateway. Every evaluation is bounded.
 */
describe('write templates run within a time and depth limit', () => {
  it('stops an endless tail recursion, saying it ran too long', async () => {
    const template = compileTemplate('($f := function($n){ $f($n+1) }; $f(0))', ['value']);
    await expect(template.evaluate({}, { value: {} })).rejects.toThrow(
      'the template ran longer than 1000 ms (endless recursion?)',
    );
  });

  it('stops a recursion that nests without end, saying it nested too deep', async () => {
    // A time limit a starved machine cannot reach first: this is about depth.
    const template = compileTemplate('($f := function($n){ 1 + $f($n+1) }; $f(0))', ['value'], {
      timeLimitMs: 60000,
    });
    await expect(template.evaluate({}, { value: {} })).rejects.toThrow(
      /^the template nested deeper than \d+ calls \(endless recursion\?\)$/,
    );
  });

  it('takes a shorter limit when asked, and still runs a recursion that ends', async () => {
    const endless = compileTemplate('($f := function($n){ $f($n+1) }; $f(0))', [], { timeLimitMs: 50 });
    await expect(endless.evaluate({}, {})).rejects.toThrow('the template ran longer than 50 ms');
    const ending = compileTemplate('($f := function($n){ $n >= 200 ? $n : $f($n+1) }; $f(0))', [], {
      timeLimitMs: 60000,
    });
    await expect(ending.evaluate({}, {})).resolves.toBe(200);
  });

  it('runs a real template as before', async () => {
    const template = compileTemplate('{"system": "phone", "value": $value, "rank": $index + 1}', [
      'value',
      'index',
    ]);
    await expect(template.evaluate('+15551234567', { value: '+15551234567', index: 0 })).resolves.toEqual({
      system: 'phone',
      value: '+15551234567',
      rank: 1,
    });
  });
});

/**
 * The limit is a wall clock. A running profile's templates take milliseconds, but on a machine
 * starved during a surge the clock runs on while the gateway waits for a core: a 1 s limit there
 * refused a start over a fixture that passes everywhere else. Only the workbench, where someone
 * types templates that may not end, keeps the short limit. The loader tries every template on a
 * sample record, so an endless one is refused at load, with the limit that stopped it.
 */
describe('the time limit of a running profile and of the workbench', () => {
  const ENDLESS = '($f := function($n){ $f($n+1) }; $f(0))';
  const EMAIL_TEMPLATE = `template: |
      {
        "system": "email",
        "value": $value,
        "use": $existing.use
      }`;
  let root: string;
  let dir: string;

  beforeAll(async () => {
    ({ root, dir } = await copyDefaultProfile('continuum-limits-', 'endless'));
    await editProfileFile(dir, 'patient.yaml', EMAIL_TEMPLATE, `template: '${ENDLESS}'`);
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });
  afterEach(() => {
    jest.restoreAllMocks();
  });

  /**
   * Each look at the clock finds it 0.1 ms later (JSONata looks at every step): the limits are
   * reached in steps, 10 000 for 1 s, never in seconds of a busy machine. Real templates take a few
   * hundred steps.
   */
  function steppingClock(): void {
    let now = Date.now();
    jest.spyOn(Date, 'now').mockImplementation(() => (now += 0.1));
  }

  async function loadProblem(options: { templateTimeLimitMs?: number }): Promise<string> {
    steppingClock();
    const error = await loadMappingProfile(dir, { defaultRegion: 'US', ...options }).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(MappingProfileError);
    const problems = (error as MappingProfileError).problems;
    expect(problems.map((p) => p.field)).toEqual(['write.email.template']);
    return problems[0]?.message ?? '';
  }

  it('is 10 s for a profile loaded to run', async () => {
    expect(await loadProblem({})).toBe(
      'fails on a sample Patient: the template ran longer than 10000 ms (endless recursion?)',
    );
  });

  it('is what the caller asks for, as the workbench asks for 1 s', async () => {
    expect(await loadProblem({ templateTimeLimitMs: 1000 })).toBe(
      'fails on a sample Patient: the template ran longer than 1000 ms (endless recursion?)',
    );
  });
});
