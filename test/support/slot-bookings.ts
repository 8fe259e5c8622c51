/**
 * The Appointments in a FHIR server that hold a slot. A slot freed by a cancellation still lists
 * the cancelled visit (the sandbox's seed has such slots, which ones depends on the day), and a
 * cancelled, no-show or mistaken visit holds nothing: counting it as a booking would call a free
 * slot double-booked.
 */
import { http } from './http';

const HOLDS_NOTHING = new Set(['cancelled', 'noshow', 'entered-in-error']);

export async function appointmentsHoldingSlot(fhirBase: string, slotId: string): Promise<any[]> {
  const bundle = await http('GET', `${fhirBase}/Appointment?slot=Slot/${slotId}&_count=100`, {
    timeoutMs: 15_000,
  });
  if (bundle.status !== 200)
    throw new Error(`Appointment search for Slot/${slotId} answered ${bundle.status}`);
  return ((bundle.body.entry ?? []) as { resource: { status?: string } }[])
    .map((e) => e.resource)
    .filter((a) => !HOLDS_NOTHING.has(a.status ?? ''));
}
