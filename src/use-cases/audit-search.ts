/**
 * The audit trail as a compliance officer reads it: a tenant's records, newest first, by patient,
 * client, human agent and time, as FHIR AuditEvents. A tenant never sees another tenant's records.
 */
import type { AuditStore } from '../domain/audit';
import { toAuditEvent } from '../domain/audit-event';

export interface AuditSearch {
  readonly tenant: string;
  readonly patient?: string | undefined;
  readonly client?: string | undefined;
  readonly agent?: string | undefined;
  readonly since?: Date | undefined;
  readonly until?: Date | undefined;
  readonly cursor?: string | undefined;
  readonly limit: number;
}

export interface AuditSearchResult {
  readonly count: number;
  readonly auditEvents: readonly Record<string, unknown>[];
  /** Pass as `cursor` for the next page; absent on the last one. */
  readonly next?: string;
}

export async function searchAudit(
  deps: { readonly audit: AuditStore },
  search: AuditSearch,
): Promise<AuditSearchResult> {
  const page = await deps.audit.query({
    tenant: search.tenant,
    limit: search.limit,
    ...(search.patient !== undefined ? { patient: `Patient/${search.patient}` } : {}),
    ...(search.client !== undefined ? { client: search.client } : {}),
    ...(search.agent !== undefined ? { agent: search.agent } : {}),
    ...(search.since !== undefined ? { since: search.since } : {}),
    ...(search.until !== undefined ? { until: search.until } : {}),
    ...(search.cursor !== undefined ? { cursor: search.cursor } : {}),
  });
  return {
    count: page.records.length,
    auditEvents: page.records.map((r) => toAuditEvent(r.id, r.record)),
    ...(page.next !== undefined ? { next: page.next } : {}),
  };
}
