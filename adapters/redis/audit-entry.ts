/**
 * An audit stream entry as XRANGE returns it: its id and its fields, `r` the record as stored,
 * `p` the previous link, `h` its own link (audit-chain.ts).
 */
import type { AuditRecord } from '../../src/domain/audit';

export type StreamEntry = [id: string, fields: string[]];

export function entryField(fields: readonly string[], name: 'r' | 'p' | 'h'): string | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}

/** The record of an entry, or undefined when it cannot be read (verify names such an entry). */
export function entryRecord(fields: readonly string[]): AuditRecord | undefined {
  const stored = entryField(fields, 'r');
  if (stored === undefined) return undefined;
  try {
    return JSON.parse(stored) as AuditRecord;
  } catch {
    return undefined;
  }
}
