/**
 * BullMQ priorities of write jobs. Every write job has one: BullMQ takes jobs without a priority
 * before all prioritized ones, so a job added without one would jump every urgent write. Lower is
 * served first; FIFO holds within one priority.
 */
import type { Urgency } from '../src/domain/urgency';

export const WRITE_PRIORITY: Readonly<Record<Urgency, number>> = { urgent: 1, routine: 2 };
