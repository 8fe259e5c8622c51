/**
 * Try: what a change would do to a record, computed with the same profile functions the workers
 * use (applyPatientChanges, the cancellation, convertAppointment, holdAppointment), and not sent.
 * The difference is a JSON Patch (rfc6902) from the record before to the record after, each step
 * with the value it replaces.
 */
import { createPatch, Pointer } from 'rfc6902';
import { acceptedCancellationReason } from '../domain/cancellation-reason';
import { isContinuumError } from '../domain/errors';
import type { Appointment, Patient, Resource } from '../domain/fhir';
import type { MappingProfile } from '../domain/mapping-profile';
import type { PatchStep, TryChange, WorkbenchProblem } from '../domain/mapping-workbench';
import { cancelledAppointment } from './apply-appointment-change';

export interface ChangePreview {
  readonly after: Resource | undefined;
  readonly diff: readonly PatchStep[];
  readonly problems: readonly WorkbenchProblem[];
}

export async function previewChange(
  profile: MappingProfile,
  before: Resource,
  change: TryChange,
): Promise<ChangePreview> {
  let after: Resource;
  try {
    if (change.resourceType === 'Patient') {
      after = await profile.applyPatientChanges(before as Patient, change.changes);
    } else {
      const appointment = before as Appointment;
      // The reason rule of the API: a reason the profile cannot code would be refused there, so
      // the preview refuses it too (with the accepted ones) instead of showing a write never sent.
      const reason = acceptedCancellationReason(profile, change.reason);
      if (change.action === 'cancel') {
        const next = cancelledAppointment(profile, appointment, reason);
        if ('unchanged' in next) return { after: before, diff: [], problems: [problem('', next.unchanged)] };
        after = next;
      } else if (change.action === 'convert') {
        after = await profile.convertAppointment(appointment, change.mode ?? 'in-person', reason);
      } else {
        after = await profile.holdAppointment(appointment, reason);
      }
    }
  } catch (error) {
    return { after: undefined, diff: [], problems: [problemOf(error)] };
  }
  return { after, diff: patchSteps(before, after), problems: [] };
}

/** The steps from `before` to `after`, meta left out (it is the server's). */
export function patchSteps(before: Resource, after: Resource): PatchStep[] {
  const from = withoutMeta(before);
  return createPatch(from, withoutMeta(after)).flatMap((operation): PatchStep[] => {
    if (operation.op === 'add')
      return [{ op: 'add', path: operation.path, value: operation.value as unknown }];
    if (operation.op === 'remove') {
      return [
        { op: 'remove', path: operation.path, from: Pointer.fromJSON(operation.path).get(from) as unknown },
      ];
    }
    if (operation.op === 'replace') {
      return [
        {
          op: 'replace',
          path: operation.path,
          from: Pointer.fromJSON(operation.path).get(from) as unknown,
          value: operation.value as unknown,
        },
      ];
    }
    return [];
  });
}

function withoutMeta(resource: Resource): Record<string, unknown> {
  const copy: Record<string, unknown> = { ...resource };
  delete copy.meta;
  return copy;
}

function problemOf(error: unknown): WorkbenchProblem {
  const field = (error as { field?: unknown }).field;
  const detail = isContinuumError(error)
    ? (error.detail ?? error.title)
    : error instanceof Error
      ? error.message
      : String(error);
  // A failing rule names its field (`write.phones.template`); its cause says what went wrong.
  const cause = (error as { cause?: unknown }).cause;
  const because = cause instanceof Error ? `: ${cause.message.split('\n')[0] ?? ''}` : '';
  return problem(typeof field === 'string' ? field : '', `${detail}${because}`);
}

function problem(field: string, message: string): WorkbenchProblem {
  const head = field.split('.')[0] ?? '';
  const file = ['read', 'write', 'create'].includes(head)
    ? 'patient.yaml'
    : ['book', 'convert', 'hold'].includes(head)
      ? 'appointment.yaml'
      : '';
  return { file, field, message };
}
