/**
 * Stages each phase's trouble through the gateway's own API: the sandbox EHR's fault switch, its
 * capacity mode and its OAuth client (`/sandbox/admin/*`, scope sandbox:admin), and site closures
 * (`/v1/crisis/closures`, scope crisis:admin). What cannot be staged is said once, up front, and
 * that phase runs as load only.
 */
import type { ClosureCheck, ClosureScope } from './closure-check';
import type { ClosurePlan } from './closure-plan';
import { field, stringField, type DrillHttp } from './drill-http';
import type { Phase, Stage } from './scenarios';

export interface StagingAbility {
  /** The sandbox admin API answers this key. */
  readonly sandbox: boolean;
  /** The sandbox checks OAuth tokens, so its client can be revoked for real (else a 401 fault stands in). */
  readonly sandboxOAuth: boolean;
  /** Why a stage cannot be staged, by stage. */
  readonly unavailable: Partial<Record<Stage, string>>;
}

/** One reading of the closure's progress (`GET /v1/crisis/closures/:id`) during the drill. */
export interface ClosureSample {
  readonly atMs: number;
  readonly status: string;
  readonly appointmentsDone: number;
  readonly appointmentsFailed: number;
  readonly appointmentsRemaining: number;
  readonly callbacksDone: number;
  readonly callbacksRemaining: number;
  readonly percent: number;
}

export interface ClosureFigures {
  readonly dryRun: Record<string, unknown> | undefined;
  readonly id: string | undefined;
  readonly progress: Record<string, unknown> | undefined;
  readonly note: string | undefined;
  /** The closed site and window, as chosen from the planning dry run. */
  readonly location?: string;
  readonly from?: string;
  readonly to?: string;
  readonly submittedAtMs?: number;
  readonly samples?: readonly ClosureSample[];
  /** What the EHR's own records show (after the drain). */
  readonly check?: ClosureCheck;
  /** The closure's share of the verdict: see `closureCheckPassed`. */
  readonly passed?: boolean;
}

export const FINAL_CLOSURE_STATUSES: ReadonlySet<string> = new Set(['completed', 'stopped', 'failed']);

export interface StagedAction {
  readonly atMs: number;
  readonly phase: string;
  readonly action: string;
  readonly status: number;
}

export async function probeStaging(http: DrillHttp, phases: readonly Phase[]): Promise<StagingAbility> {
  const unavailable: Partial<Record<Stage, string>> = {};
  const faults = await http.request('GET', '/sandbox/admin/faults');
  const sandbox = faults.status === 200;
  const reason =
    faults.status === 403
      ? 'the key lacks sandbox:admin, so EHR faults cannot be staged'
      : faults.status === 404
        ? 'the connection is not a sandbox EHR, so EHR faults cannot be staged'
        : `the sandbox admin API answered HTTP ${faults.status}`;
  let sandboxOAuth = false;
  if (sandbox) {
    const auth = await http.request('GET', '/sandbox/admin/auth');
    sandboxOAuth = auth.status === 200 && stringField(auth.body, 'mode') !== 'none';
  }
  for (const { stage } of phases) {
    if (stage === 'none' || stage === 'site-closure') continue;
    if (!sandbox) unavailable[stage] = reason;
  }
  if (phases.some((p) => p.stage === 'site-closure')) {
    // An empty body is refused with 400 where closures exist; 404 where they do not, 403 without crisis:admin.
    const probe = await http.request('POST', '/v1/crisis/closures', { body: {} });
    if (probe.status === 404) unavailable['site-closure'] = 'closures not available on this gateway';
    else if (probe.status === 403 || probe.status === 401) {
      unavailable['site-closure'] = 'the key lacks crisis:admin, so a site closure cannot be staged';
    }
  }
  return { sandbox, sandboxOAuth, unavailable };
}

export interface Stager {
  enter(phase: Phase, atMs: number): Promise<void>;
  /** Puts the EHR back up whatever happened: called after the timeline, and on any failure. */
  restore(atMs: number): Promise<void>;
  readonly actions: StagedAction[];
  readonly closure: () => ClosureFigures | undefined;
  /** The closed site, window and targets, for the check against the EHR (held in memory only). */
  readonly closureScope: () => Omit<ClosureScope, 'loadOperationIds'> | undefined;
  /** Reads the closure's progress once and keeps the sample; its status, or undefined without one. */
  pollClosure(atMs: number): Promise<string | undefined>;
  /** Replaces the report's closure figures (the check joins them after the drain). */
  setClosure(figures: ClosureFigures): void;
}

const FAULT_GRACE_MS = 30_000;
const CAPACITY = { mode: 'capacity', concurrent: 4, latencyMs: 120, jitterMs: 40, queueDepth: 16 };

export function createStager(
  http: DrillHttp,
  ability: StagingAbility,
  closurePlan: { readonly plan: ClosurePlan } | { readonly note: string } | undefined,
): Stager {
  const actions: StagedAction[] = [];
  let current: Stage = 'none';
  let closure: ClosureFigures | undefined;
  let closureId: string | undefined;
  let scope: Omit<ClosureScope, 'loadOperationIds'> | undefined;
  const samples: ClosureSample[] = [];

  const act = async (
    atMs: number,
    phase: string,
    action: string,
    method: string,
    path: string,
    body?: unknown,
  ) => {
    const res = await http.request(method, path, body !== undefined ? { body } : {});
    actions.push({ atMs: Math.round(atMs), phase, action, status: res.status });
    return res;
  };

  const undo = async (atMs: number, phase: string) => {
    if (current === 'credentials-revoked' && ability.sandboxOAuth) {
      await act(atMs, phase, 'credentials restored', 'POST', '/sandbox/admin/auth', { revoked: false });
    } else if (current !== 'none' && current !== 'site-closure' && ability.sandbox) {
      await act(atMs, phase, 'EHR up', 'POST', '/sandbox/admin/faults', { mode: 'up' });
    }
    current = 'none';
  };

  const closeSite = async (atMs: number, phase: string) => {
    if (closurePlan === undefined || 'note' in closurePlan) {
      closure = {
        dryRun: undefined,
        id: undefined,
        progress: undefined,
        note: closurePlan?.note ?? 'no site to close was planned',
      };
      return;
    }
    const { plan } = closurePlan;
    const body = {
      locations: [plan.location],
      from: plan.from.toISOString(),
      to: plan.to.toISOString(),
      action: 'convert-to-virtual',
      mode: 'video',
      reason: 'weather',
      callback: {
        priority: 'urgent',
        window: { start: plan.from.toISOString(), end: plan.to.toISOString() },
      },
    };
    const dry = await act(atMs, phase, 'closure dry run', 'POST', '/v1/crisis/closures', {
      ...body,
      dryRun: true,
    });
    const refs = (key: string): string[] => {
      const list = field(dry.body, key);
      return Array.isArray(list) ? list.filter((r): r is string => typeof r === 'string') : [];
    };
    const submittedAt = new Date();
    const real = await act(atMs, phase, `closure of ${plan.location}`, 'POST', '/v1/crisis/closures', body);
    closureId = stringField(real.body, 'id');
    scope = {
      location: plan.location,
      from: plan.from,
      to: plan.to,
      submittedAt,
      appointmentRefs: refs('appointmentRefs'),
      patientRefs: refs('patientRefs'),
    };
    closure = {
      dryRun: countsOnly(dry.body),
      id: closureId,
      progress: undefined,
      note: closureId === undefined ? `the closure was refused (HTTP ${real.status})` : undefined,
      location: plan.location,
      from: plan.from.toISOString(),
      to: plan.to.toISOString(),
      submittedAtMs: Math.round(atMs),
      samples,
    };
  };

  return {
    actions,
    closure: () => closure,
    closureScope: () => (closureId === undefined ? undefined : scope),
    setClosure(figures) {
      closure = figures;
    },
    async pollClosure(atMs) {
      if (closureId === undefined || closure === undefined) return undefined;
      const res = await http.request('GET', `/v1/crisis/closures/${encodeURIComponent(closureId)}`);
      if (res.status !== 200) return undefined;
      const n = (...path: string[]) => {
        const value = field(res.body, ...path);
        return typeof value === 'number' ? value : 0;
      };
      const status = stringField(res.body, 'status') ?? 'unknown';
      samples.push({
        atMs: Math.round(atMs),
        status,
        appointmentsDone: n('appointments', 'done'),
        appointmentsFailed: n('appointments', 'failed'),
        appointmentsRemaining: n('appointments', 'remaining'),
        callbacksDone: n('callbacks', 'done'),
        callbacksRemaining: n('callbacks', 'remaining'),
        percent: n('percent'),
      });
      closure = { ...closure, progress: countsOnly(res.body) };
      return status;
    },
    async enter(phase, atMs) {
      if (phase.stage === current) return;
      await undo(atMs, phase.name);
      const reason = ability.unavailable[phase.stage];
      if (phase.stage === 'none' || reason !== undefined) return;
      current = phase.stage;
      // A fault ends by itself a little after its phase: a drill killed halfway leaves no EHR down.
      const durationMs = phase.endMs - phase.startMs + FAULT_GRACE_MS;
      switch (phase.stage) {
        case 'ehr-down':
          await act(atMs, phase.name, 'EHR down', 'POST', '/sandbox/admin/faults', {
            mode: 'down',
            kind: 'refuse',
            durationMs,
          });
          return;
        case 'ehr-at-capacity':
          await act(atMs, phase.name, 'EHR at capacity', 'POST', '/sandbox/admin/faults', {
            ...CAPACITY,
            durationMs,
          });
          return;
        case 'credentials-revoked':
          if (ability.sandboxOAuth) {
            await act(atMs, phase.name, 'credentials revoked', 'POST', '/sandbox/admin/auth', {
              revoked: true,
            });
          } else {
            // The sandbox signs no one in: an EHR refusing the credential on every call stands in.
            await act(atMs, phase.name, 'credentials refused (401 fault)', 'POST', '/sandbox/admin/faults', {
              mode: 'down',
              kind: 'http401',
              durationMs,
            });
          }
          return;
        case 'site-closure':
          await closeSite(atMs, phase.name);
          return;
      }
    },
    async restore(atMs) {
      await undo(atMs, 'end');
    },
  };
}

/** A closure's answer without its patient and appointment lists: the report keeps counts only. */
function countsOnly(body: unknown): Record<string, unknown> | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(body as Record<string, unknown>)) {
    if (key === 'patientRefs' || key === 'appointmentRefs') {
      out[`${key.replace('Refs', '')}Count`] = Array.isArray(value) ? value.length : 0;
    } else {
      out[key] = value;
    }
  }
  return out;
}
