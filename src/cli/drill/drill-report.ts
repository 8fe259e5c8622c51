/** The drill's report: every figure, as written to drill-<date>.json and drawn in drill-<date>.html. */
import type { Bucket, PhaseFigures } from './drill-aggregate';
import type { BacklogSample, CallRecord } from './drill-records';
import type { ClosureFigures, StagedAction } from './drill-staging';
import type { HistoryVerdict, WriteOutcome } from './history-check';
import type { Phase, Stage } from './scenarios';

export interface EventFigures {
  readonly source: string;
  /** Accepted writes that reached a final state: each owes subscribers one `operation.*` event. */
  readonly expectedOperationEvents: number;
  /** Of those, how many the drill's own subscriber received (null without one). */
  readonly deliveredOperationEvents: number | null;
  readonly byType: Record<string, number>;
  readonly subscribers: Record<string, { waiting: number; deadLetters: number; newDeadLetters: number }>;
  readonly badSignatures: number;
}

export interface DrillReport {
  readonly drill: {
    readonly scenario: string;
    readonly runId: string;
    readonly target: string;
    readonly startedAt: string;
    readonly finishedAt: string;
    readonly durationMs: number;
    readonly compress: number;
    readonly wallMs: number;
    readonly baseRate: number;
    readonly callMix: Readonly<Record<string, number>>;
    readonly seedPatients: number;
  };
  readonly phases: readonly (Phase & { readonly staged: boolean })[];
  readonly notStaged: Partial<Record<Stage, string>>;
  readonly staging: readonly StagedAction[];
  readonly calls: {
    readonly total: number;
    readonly skippedAtConcurrencyBound: number;
    readonly byPhase: readonly PhaseFigures[];
    readonly overTime: readonly Bucket[];
    /** Every call: when, in which phase, what kind, its status, latency, cache source and operation id. */
    readonly records: readonly CallRecord[];
  };
  readonly backlog: {
    readonly samples: readonly BacklogSample[];
    readonly peak: number;
    readonly peakAtMs: number | null;
    readonly timeToDrainMs: number | null;
    readonly drained: boolean;
    readonly timelineEndMs: number;
    /** Writes accepted while trouble was staged (the EHR down, at capacity, refusing credentials). */
    readonly acceptedDuringTrouble: number;
    /** Of those, the ones in the EHR exactly once after it recovered. */
    readonly drainedAfterTrouble: number;
  };
  readonly writes: HistoryVerdict;
  /** Each accepted write by operation id (a reference, no PHI): its receipt's status and its count in the EHR. */
  readonly writeOutcomes: readonly (WriteOutcome & { readonly resource: string })[];
  readonly events: EventFigures;
  readonly closure: ClosureFigures | undefined;
}

/** The verdict people look for first: every accepted write is in the EHR once. */
export function drillPassed(report: DrillReport): boolean {
  return (
    report.writes.lost === 0 &&
    report.writes.duplicated === 0 &&
    report.writes.appliedDespiteFailure === 0 &&
    report.closure?.passed !== false
  );
}
