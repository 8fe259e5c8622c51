/** Drill timelines compressed into a run's wall time, and the command's options. */
import { DrillUsageError, parseDrillOptions, parseDuration } from '../../src/cli/drill/drill-options';
import { compressTimeline, phaseAt, SCENARIO_PHASES, SCENARIOS } from '../../src/cli/drill/scenarios';
import { pickKind, seededRandom } from '../../src/cli/drill/call-load';

describe('compressTimeline', () => {
  it('lays the outage scenario out as 20% baseline, 40% EHR down, 40% recovery', () => {
    const phases = compressTimeline(SCENARIO_PHASES.outage, 30_000);
    expect(phases.map((p) => [p.name, p.startMs, p.endMs, p.stage])).toEqual([
      ['baseline', 0, 6_000, 'none'],
      ['ehr-down', 6_000, 18_000, 'ehr-down'],
      ['recovery', 18_000, 30_000, 'none'],
    ]);
  });

  it.each(SCENARIOS)('leaves no gap and no overlap in the %s scenario at any length', (scenario) => {
    for (const wallMs of [5_000, 7_777, 30_000, 300_000, 3_600_001]) {
      const phases = compressTimeline(SCENARIO_PHASES[scenario], wallMs);
      expect(phases[0]?.startMs).toBe(0);
      expect(phases.at(-1)?.endMs).toBe(wallMs);
      for (let i = 1; i < phases.length; i++) expect(phases[i]?.startMs).toBe(phases[i - 1]?.endMs);
      for (const p of phases) expect(p.endMs).toBeGreaterThan(p.startMs);
    }
  });

  it('keeps the shares when compressed: a 5-minute surge run in 30 s has the same proportions', () => {
    const full = compressTimeline(SCENARIO_PHASES.surge, 300_000);
    const quick = compressTimeline(SCENARIO_PHASES.surge, 30_000);
    expect(quick.map((p) => p.endMs * 10)).toEqual(full.map((p) => p.endMs));
    expect(quick.map((p) => p.loadFactor)).toEqual([1, 3, 5, 1]);
    expect(quick[2]?.stage).toBe('ehr-at-capacity');
  });

  it('finds the phase of a moment, and the last one past the end', () => {
    const phases = compressTimeline(SCENARIO_PHASES.outage, 10_000);
    expect(phaseAt(phases, 0).name).toBe('baseline');
    expect(phaseAt(phases, 1_999).name).toBe('baseline');
    expect(phaseAt(phases, 2_000).name).toBe('ehr-down');
    expect(phaseAt(phases, 12_000).name).toBe('recovery');
  });

  it('refuses an empty scenario or duration', () => {
    expect(() => compressTimeline([], 1000)).toThrow(RangeError);
    expect(() => compressTimeline(SCENARIO_PHASES.outage, 0)).toThrow(RangeError);
  });
});

describe('drill options', () => {
  const parse = (args: string[], env: Record<string, string> = {}) => parseDrillOptions(args, env, '/work');

  it('reads durations in ms, s, m and h', () => {
    expect(parseDuration('5m')).toBe(300_000);
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('1.5h')).toBe(5_400_000);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('45')).toBe(45_000);
    expect(parseDuration('5 minutes')).toBeUndefined();
    expect(parseDuration('0s')).toBeUndefined();
  });

  it('compresses the wall time by --compress and keeps the nominal duration', () => {
    const options = parse(['--scenario', 'outage', '--duration', '5m', '--compress', '10']);
    expect(options).toMatchObject({
      durationMs: 300_000,
      wallMs: 30_000,
      compress: 10,
      rate: 10,
      outDir: '/work',
    });
    expect(options.url).toBeUndefined();
  });

  it('takes the key from CONTINUUM_API_KEY when --url is given without --key', () => {
    const options = parse(['--scenario', 'surge', '--url', 'https://staging.example.org/'], {
      CONTINUUM_API_KEY: 'ck_x',
    });
    expect(options).toMatchObject({ url: 'https://staging.example.org', key: 'ck_x' });
  });

  it.each([
    [['--scenario', 'flood'], /--scenario must be one of/],
    [[], /--scenario is required/],
    [['--scenario', 'outage', '--bogus'], /bogus/],
    [['--scenario', 'outage', '--duration', 'soon'], /--duration/],
    [['--scenario', 'outage', '--duration', '10s', '--compress', '10'], /at least 5s/],
    [['--scenario', 'outage', '--rate', '-1'], /--rate/],
    [['--scenario', 'outage', '--url', 'ftp://x'], /--url must be/],
    [['--scenario', 'outage', '--url', 'https://x.example'], /needs an API key/],
    [['--scenario', 'outage', 'extra'], /unexpected argument/],
  ])('refuses %j with a sentence', (args, message) => {
    expect(() => parse(args)).toThrow(DrillUsageError);
    expect(() => parse(args)).toThrow(message);
  });
});

describe('call mix', () => {
  it('is reproducible from its seed and reaches every kind of call', () => {
    const a = seededRandom(7);
    const b = seededRandom(7);
    const kinds = Array.from({ length: 2000 }, () => pickKind(a));
    expect(Array.from({ length: 2000 }, () => pickKind(b))).toEqual(kinds);
    const counts = new Map<string, number>();
    for (const k of kinds) counts.set(k, (counts.get(k) ?? 0) + 1);
    expect([...counts.keys()].sort()).toEqual(
      ['book', 'callback', 'correct-demographics', 'lookup', 'slots', 'summary', 'verify'].sort(),
    );
    // Screen pops are the most common call, as in a contact center.
    expect(Math.max(...counts.values())).toBe(counts.get('lookup'));
  });
});
