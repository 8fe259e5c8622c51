/**
 * The sandbox's fault switch without HTTP: the command-line spec, validation with named fields, decisions
 * per mode (seeded, so repeatable), path filters, counters and the time limit on an injected clock.
 */
import { FaultModeError, FaultSpecError, parseFaultSpec } from '../../adapters/ehr/sandbox';
import { FaultSwitch, type FaultDecision } from '../../adapters/ehr/sandbox/fault-switch';

describe('parseFaultSpec', () => {
  it.each([
    ['up', { mode: 'up' }],
    ['down', { mode: 'down', kind: 'refuse' }],
    ['down:refuse', { mode: 'down', kind: 'refuse' }],
    ['down:http503', { mode: 'down', kind: 'http503' }],
    ['down:http503:30', { mode: 'down', kind: 'http503', retryAfterSeconds: 30 }],
    ['down:http401', { mode: 'down', kind: 'http401' }],
    ['down:http403', { mode: 'down', kind: 'http403' }],
    ['slow:800', { mode: 'slow', latencyMs: 800, jitterMs: 0 }],
    ['slow:800:200', { mode: 'slow', latencyMs: 800, jitterMs: 200 }],
    [
      'flaky:0.3',
      { mode: 'flaky', failureRate: 0.3, afterCommitRate: 0, afterCommitMode: 'reset', kind: 'http503' },
    ],
    [
      'flaky:0.3:0.5',
      { mode: 'flaky', failureRate: 0.3, afterCommitRate: 0.5, afterCommitMode: 'reset', kind: 'http503' },
    ],
    [
      ' {"mode":"flaky","failureRate":1,"afterCommitRate":1,"afterCommitMode":"http500","seed":7,"paths":["Patient"]} ',
      {
        mode: 'flaky',
        failureRate: 1,
        afterCommitRate: 1,
        afterCommitMode: 'http500',
        kind: 'http503',
        seed: 7,
        paths: ['Patient'],
      },
    ],
  ])('%s', (spec, expected) => {
    expect(parseFaultSpec(spec)).toEqual(expected);
  });

  it.each([
    ['', /unknown mode ""/],
    ['sideways', /unknown mode "sideways"/],
    ['down:http404', /kind: Invalid option/],
    ['down:refuse:5', /retryAfterSeconds: only applies with kind "http503"/],
    [
      'down:http401:5',
      /retryAfterSeconds: only applies with kind "http503" or "http429": a refused credential/,
    ],
    ['down:http503:5:6', /down takes at most 2 value/],
    ['slow', /slow needs latencyMs/],
    ['slow:fast', /latencyMs must be a number, got "fast"/],
    ['slow:12.5', /latencyMs: .*int/],
    ['slow:-1', /latencyMs: Too small/],
    ['flaky', /flaky needs failureRate/],
    ['flaky:1.5', /failureRate: Too big/],
    ['flaky:0.3:x', /afterCommitRate must be a number/],
    ['up:1', /up takes at most 0 value/],
    ['{"mode":"down",', /not valid JSON/],
    ['{"mode":"slow","latencyMs":10,"color":"red"}', /color: is not an option of this mode/],
  ])('rejects %j', (spec, message) => {
    expect(() => parseFaultSpec(spec)).toThrow(FaultSpecError);
    expect(() => parseFaultSpec(spec)).toThrow(message);
  });

  it('says which forms it accepts', () => {
    expect(() => parseFaultSpec('nope')).toThrow(/expected up, down\[:refuse\|http503/);
  });
});

describe('FaultSwitch', () => {
  function clock(start = Date.parse('2026-03-02T12:00:00Z')): {
    now: () => number;
    advance(ms: number): void;
  } {
    let now = start;
    return {
      now: () => now,
      advance: (ms) => {
        now += ms;
      },
    };
  }

  it('starts up, lets everything pass and counts it', () => {
    const faults = new FaultSwitch();
    expect(faults.decide('GET', '/metadata')).toEqual({ action: 'pass' });
    expect(faults.decide('POST', '/Patient')).toEqual({ action: 'pass' });
    const state = faults.get();
    expect(state.mode).toEqual({ mode: 'up' });
    expect(state.counters).toEqual({ seen: 2, passed: 2, delayed: 0, failed: 0, failedAfterCommit: 0 });
    expect(state.previous).toBeNull();
  });

  it('takes an initial mode and reports it without a previous period', () => {
    const faults = new FaultSwitch({ initial: { mode: 'down', kind: 'http503', retryAfterSeconds: 5 } });
    expect(faults.get()).toMatchObject({ mode: { mode: 'down', kind: 'http503' }, previous: null });
    expect(faults.decide('GET', '/metadata')).toEqual({
      action: 'fail',
      kind: 'http503',
      retryAfterSeconds: 5,
    });
  });

  it('refuses an invalid mode naming each field, and keeps the current one', () => {
    const faults = new FaultSwitch({ initial: { mode: 'slow', latencyMs: 10 } });
    let error: unknown;
    try {
      faults.set({ mode: 'flaky', failureRate: 2, afterCommitRate: -1, untilMs: 1, durationMs: 1 } as never);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(FaultModeError);
    expect((error as FaultModeError).problems.map((p) => p.field).sort()).toEqual([
      'afterCommitRate',
      'durationMs',
      'failureRate',
    ]);
    expect(() => faults.set({ mode: 'off' } as never)).toThrow(/mode: Invalid discriminator/);
    expect(() => faults.set({ mode: 'down', paths: ['Patient?x=1'] })).toThrow(
      /paths\[0\]: must be a FHIR path/,
    );
    expect(faults.get().mode.mode).toBe('slow');
  });

  it('refuses an untilMs in the past', () => {
    const time = clock();
    const faults = new FaultSwitch({ now: time.now });
    expect(() => faults.set({ mode: 'down', untilMs: time.now() - 1 })).toThrow(
      /untilMs: must be in the future/,
    );
  });

  it('a refused credential (http401, http403) fails every path but metadata, which needs none', () => {
    for (const kind of ['http401', 'http403'] as const) {
      const faults = new FaultSwitch({ initial: { mode: 'down', kind } });
      expect(faults.decide('GET', '/metadata')).toEqual({ action: 'pass' });
      expect(faults.decide('GET', '/Patient?_count=1')).toEqual({
        action: 'fail',
        kind,
        retryAfterSeconds: undefined,
      });
      expect(faults.decide('PUT', '/Patient/pat-0001').action).toBe('fail');
      expect(faults.decide('POST', '/').action).toBe('fail');
      expect(faults.decide('GET', '/metadataX').action).toBe('fail');
      expect(faults.get().counters).toMatchObject({ seen: 5, passed: 1, failed: 4 });
    }
  });

  it('down fails every request in scope, metadata included; paths limit the scope', () => {
    const faults = new FaultSwitch();
    faults.set({ mode: 'down' });
    expect(faults.decide('GET', '/metadata')).toEqual({
      action: 'fail',
      kind: 'refuse',
      retryAfterSeconds: undefined,
    });
    faults.set({ mode: 'down', kind: 'http503', paths: ['Patient', '/metadata'] });
    expect(faults.decide('GET', '/Patient/pat-0001').action).toBe('fail');
    expect(faults.decide('GET', '/Patient').action).toBe('fail');
    expect(faults.decide('GET', '/metadata').action).toBe('fail');
    expect(faults.decide('GET', '/PatientX').action).toBe('pass');
    expect(faults.decide('GET', '/Appointment?patient=Patient/1').action).toBe('pass');
    expect(faults.decide('POST', '/').action).toBe('pass');
    expect(faults.get().counters).toEqual({
      seen: 6,
      passed: 3,
      delayed: 0,
      failed: 3,
      failedAfterCommit: 0,
    });

    faults.set({ mode: 'down', paths: ['/'] });
    expect(faults.decide('POST', '/').action).toBe('fail');
    expect(faults.decide('GET', '/Patient').action).toBe('pass');
  });

  it('slow adds latency with jitter on top, repeatably for a seed', () => {
    const delays = (): number[] => {
      const faults = new FaultSwitch({ initial: { mode: 'slow', latencyMs: 300, jitterMs: 100, seed: 42 } });
      return Array.from({ length: 50 }, () => {
        const decision = faults.decide('GET', '/Patient');
        return decision.action === 'delay' ? decision.ms : -1;
      });
    };
    const first = delays();
    expect(first).toEqual(delays());
    expect(Math.min(...first)).toBeGreaterThanOrEqual(300);
    expect(Math.max(...first)).toBeLessThanOrEqual(400);
    expect(new Set(first).size).toBeGreaterThan(10);
  });

  it('flaky with a seed gives the same fates in the same order, and the counters add up', () => {
    const run = (): { fates: string[]; faults: FaultSwitch } => {
      const faults = new FaultSwitch({
        initial: { mode: 'flaky', failureRate: 0.4, afterCommitRate: 0.5, seed: 1234 },
      });
      const fates = Array.from({ length: 400 }, (_, i) => {
        const decision: FaultDecision = faults.decide(i % 2 === 0 ? 'GET' : 'POST', '/Patient');
        if (decision.action === 'fail-after-commit') decision.settle(true);
        return decision.action;
      });
      return { fates, faults };
    };
    const a = run();
    const b = run();
    expect(a.fates).toEqual(b.fates);
    const count = (action: string): number => a.fates.filter((f) => f === action).length;
    const { counters } = a.faults.get();
    expect(counters.seen).toBe(400);
    expect(counters.passed).toBe(count('pass'));
    expect(counters.failed).toBe(count('fail'));
    expect(counters.failedAfterCommit).toBe(count('fail-after-commit'));
    expect(counters.passed + counters.failed + counters.failedAfterCommit).toBe(counters.seen);
    // Loose bounds: 40% of 400 fail, a quarter of the writes after commit.
    expect(counters.failed + counters.failedAfterCommit).toBeGreaterThan(120);
    expect(counters.failed + counters.failedAfterCommit).toBeLessThan(200);
    expect(counters.failedAfterCommit).toBeGreaterThan(20);
    // Reads are never "after commit".
    expect(a.fates.filter((f, i) => i % 2 === 0 && f === 'fail-after-commit')).toEqual([]);
  });

  it('counts a lost answer that committed nothing (a refused write) as failed, once', () => {
    const faults = new FaultSwitch({
      initial: { mode: 'flaky', failureRate: 1, afterCommitRate: 1, seed: 1 },
    });
    const decision = faults.decide('POST', '/Patient');
    expect(decision).toMatchObject({ action: 'fail-after-commit', mode: 'reset' });
    if (decision.action !== 'fail-after-commit') throw new Error('unreachable');
    decision.settle(false);
    decision.settle(true);
    expect(faults.get().counters).toMatchObject({ seen: 1, failed: 1, failedAfterCommit: 0 });
    expect(faults.decide('GET', '/Patient')).toMatchObject({ action: 'fail', kind: 'http503' });
  });

  it('draws a seed when none is given and shows it, so a run can be repeated', () => {
    const faults = new FaultSwitch({ initial: { mode: 'flaky', failureRate: 0.5 } });
    const mode = faults.get().mode;
    expect(mode.mode === 'flaky' && typeof mode.seed === 'number').toBe(true);
  });

  it('returns to up when durationMs has passed, keeping the expired period as previous', () => {
    const time = clock();
    const faults = new FaultSwitch({ now: time.now });
    const set = faults.set({ mode: 'down', durationMs: 1000 });
    expect(set.expiresAt).toBe('2026-03-02T12:00:01.000Z');
    expect(faults.decide('GET', '/metadata').action).toBe('fail');
    time.advance(999);
    expect(faults.decide('GET', '/metadata').action).toBe('fail');
    time.advance(1);
    expect(faults.decide('GET', '/metadata').action).toBe('pass');
    const state = faults.get();
    expect(state).toMatchObject({
      mode: { mode: 'up' },
      since: '2026-03-02T12:00:01.000Z',
      expiresAt: null,
      counters: { seen: 1, passed: 1 },
      previous: {
        mode: { mode: 'down', durationMs: 1000 },
        until: '2026-03-02T12:00:01.000Z',
        ended: 'expired',
        counters: { seen: 2, failed: 2 },
      },
    });
  });

  it('honours an absolute untilMs', () => {
    const time = clock();
    const faults = new FaultSwitch({ now: time.now });
    faults.set({ mode: 'slow', latencyMs: 5, untilMs: time.now() + 50 });
    time.advance(60);
    expect(faults.get().mode).toEqual({ mode: 'up' });
  });

  it('reset returns to up and keeps the ended period, counters included', () => {
    const faults = new FaultSwitch({ initial: { mode: 'down', kind: 'http503' } });
    faults.decide('GET', '/Patient');
    const state = faults.reset();
    expect(state.mode).toEqual({ mode: 'up' });
    expect(state.counters.seen).toBe(0);
    expect(state.previous).toMatchObject({
      mode: { mode: 'down' },
      ended: 'replaced',
      counters: { failed: 1 },
    });
  });

  it('logs changes and expiry with the mode and counts only', () => {
    const lines: { obj: object; msg: string | undefined }[] = [];
    const logger = {
      info: (obj: object, msg?: string) => lines.push({ obj, msg }),
      warn: (obj: object, msg?: string) => lines.push({ obj, msg }),
    };
    const time = clock();
    const faults = new FaultSwitch({ logger, now: time.now });
    faults.set({ mode: 'down', durationMs: 10 });
    time.advance(10);
    faults.get();
    expect(lines.map((l) => l.msg)).toEqual([
      'sandbox EHR fault mode changed',
      'sandbox EHR fault mode expired',
    ]);
    expect(lines[0]!.obj).toMatchObject({ faultMode: { mode: 'down' }, previousMode: 'up' });
    expect(lines[1]!.obj).toMatchObject({ previousMode: 'down', expiredAt: '2026-03-02T12:00:00.010Z' });
  });
});
