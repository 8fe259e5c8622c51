/**
 * Drill scenarios as timelines of phases. A phase holds a share of the drill's wall time, a load
 * factor on the base call rate, and what is staged at the EHR meanwhile. Shares, not seconds, so
 * one scenario runs as a 30-second rehearsal or a 30-minute one.
 */

export const SCENARIOS = ['outage', 'surge', 'closure', 'credentials'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

/** What the drill stages at the EHR (through the sandbox admin API) or the gateway during a phase. */
export type Stage = 'none' | 'ehr-down' | 'ehr-at-capacity' | 'site-closure' | 'credentials-revoked';

export interface PhaseSpec {
  readonly name: string;
  readonly label: string;
  /** Share of the drill's wall time; the shares of a scenario add up to 1. */
  readonly share: number;
  /** Multiplies the base call rate. */
  readonly loadFactor: number;
  readonly stage: Stage;
}

export interface Phase extends Omit<PhaseSpec, 'share'> {
  /** Milliseconds from the drill's start. */
  readonly startMs: number;
  readonly endMs: number;
}

const phase = (name: string, label: string, share: number, loadFactor: number, stage: Stage): PhaseSpec => ({
  name,
  label,
  share,
  loadFactor,
  stage,
});

export const SCENARIO_PHASES: Readonly<Record<ScenarioName, readonly PhaseSpec[]>> = {
  outage: [
    phase('baseline', 'Baseline', 0.2, 1, 'none'),
    phase('ehr-down', 'EHR down', 0.4, 1, 'ehr-down'),
    phase('recovery', 'Recovery and drain', 0.4, 1, 'none'),
  ],
  surge: [
    phase('baseline', 'Baseline', 0.2, 1, 'none'),
    phase('surge-3x', '3x call volume', 0.25, 3, 'none'),
    phase('surge-5x', '5x call volume, EHR at capacity', 0.3, 5, 'ehr-at-capacity'),
    phase('recovery', 'Recovery', 0.25, 1, 'none'),
  ],
  // The EHR goes down while the closure's changes drain: they must wait in their lanes, not be lost.
  closure: [
    phase('baseline', 'Baseline', 0.2, 1, 'none'),
    phase('site-closure', 'Site closure', 0.15, 1.5, 'site-closure'),
    phase('closure-ehr-down', 'EHR down during the closure', 0.25, 1.5, 'ehr-down'),
    phase('recovery', 'Recovery', 0.4, 1, 'none'),
  ],
  credentials: [
    phase('baseline', 'Baseline', 0.25, 1, 'none'),
    phase('credentials-revoked', 'EHR credentials revoked', 0.4, 1, 'credentials-revoked'),
    phase('restored', 'Credentials restored', 0.35, 1, 'none'),
  ],
};

/**
 * The scenario's phases laid over `wallMs` of real time. Boundaries are whole milliseconds and the
 * last phase ends exactly at `wallMs`, so no instant of the drill falls outside a phase.
 */
export function compressTimeline(specs: readonly PhaseSpec[], wallMs: number): Phase[] {
  if (specs.length === 0) throw new RangeError('a scenario needs at least one phase');
  if (!(wallMs > 0)) throw new RangeError('the drill needs a positive duration');
  const total = specs.reduce((sum, s) => sum + s.share, 0);
  let elapsedShare = 0;
  return specs.map((spec, index) => {
    const startMs = Math.round((elapsedShare / total) * wallMs);
    elapsedShare += spec.share;
    const endMs = index === specs.length - 1 ? wallMs : Math.round((elapsedShare / total) * wallMs);
    return {
      name: spec.name,
      label: spec.label,
      loadFactor: spec.loadFactor,
      stage: spec.stage,
      startMs,
      endMs,
    };
  });
}

/** The phase a moment of the drill falls in; past the end, the last phase. */
export function phaseAt(phases: readonly Phase[], atMs: number): Phase {
  const found = phases.find((p) => atMs >= p.startMs && atMs < p.endMs) ?? phases[phases.length - 1];
  if (found === undefined) throw new RangeError('no phases');
  return found;
}
