/**
 * While a site closure covers a location, in-person visits there are neither offered nor booked:
 * the slots still exist in the EHR (its calendar does not know about the storm), so Continuum
 * hides them from callers and refuses a booking of one; video and phone visits are still taken.
 */
import type { AppointmentMode } from '../domain/appointment';
import { closingWindow, type ClosureWindow } from '../domain/closure';
import { ContinuumError } from '../domain/errors';
import type { SlotModel } from '../domain/slot';
import type { UseCaseDeps } from './use-case-deps';

export type ClosedSitesDeps = Pick<UseCaseDeps, 'closedSites' | 'logger'>;

/** The connection's closure windows; none when they cannot be read (a slot search must not fail on it). */
export async function closureWindows(
  deps: ClosedSitesDeps,
  connection: string,
): Promise<readonly ClosureWindow[]> {
  if (deps.closedSites === undefined) return [];
  try {
    return await deps.closedSites.windows(connection);
  } catch (error) {
    deps.logger.warn(
      { err: error, connection },
      'closure windows not read; slots offered as the EHR has them',
    );
    return [];
  }
}

/** The slots as they may be offered: at a closed site, without the in-person mode (or not at all). */
export function withoutClosedSites(
  slots: readonly SlotModel[],
  windows: readonly ClosureWindow[],
): SlotModel[] {
  if (windows.length === 0) return [...slots];
  const open: SlotModel[] = [];
  for (const slot of slots) {
    if (closingWindow(windows, slot.location?.id, slot.start) === undefined) {
      open.push(slot);
      continue;
    }
    const modes = slot.modes.filter((mode) => mode !== 'in-person');
    if (modes.length > 0) open.push({ ...slot, modes });
  }
  return open;
}

/** Refuses an in-person booking at a closed site with a 409 the agent can act on. */
export async function refuseClosedSite(
  deps: ClosedSitesDeps,
  connection: string,
  slot: SlotModel | undefined,
  mode: AppointmentMode,
): Promise<void> {
  if (slot === undefined || mode !== 'in-person') return;
  const window = closingWindow(await closureWindows(deps, connection), slot.location?.id, slot.start);
  if (window === undefined) return;
  throw new ContinuumError('LOCATION_CLOSED', {
    detail: `the location is closed from ${window.from} to ${window.to}: book a video or phone visit, or another location`,
    extra: { closureId: window.closureId, location: slot.location?.id ?? null, closedUntil: window.to },
  });
}
