import { randomBytes } from 'node:crypto';

/**
 * Sortable, unguessable operation ids (`op_` + time + randomness). BullMQ job ids must not contain
 * `:` nor be all digits; these are neither.
 */
export function newOperationId(now: Date): string {
  return `op_${now.getTime().toString(36).padStart(9, '0')}${randomBytes(10).toString('hex')}`;
}
