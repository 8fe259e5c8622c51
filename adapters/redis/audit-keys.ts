/**
 * Where the audit trail lives in Redis. Each writer (one gateway process, or one CLI run) appends
 * to a stream of its own, so it alone orders and chains that stream's records; the registry lists
 * every stream with its creation time, the anchor keeps the link of the last record trimmed away,
 * and the head the link of the last one written (a deleted tail shows). Index keys name patients,
 * clients and agents only by keyed hash: key names are in clear in Redis, its AOF and its logs.
 */
export interface AuditKeys {
  readonly registry: string;
  stream(name: string): string;
  head(name: string): string;
  anchor(name: string): string;
  /** Every record of a tenant, by time. */
  all(tenant: string): string;
  byPatient(tenant: string, blindedPatient: string): string;
  byClient(tenant: string, blindedClient: string): string;
  byAgent(tenant: string, blindedAgent: string): string;
  /** SCAN pattern of every index key. */
  readonly indexPattern: string;
  /** A named reader's place in each stream (the EHR forwarder's). */
  cursor(name: string): string;
}

export function auditKeys(prefix: string): AuditKeys {
  const base = `${prefix}:audit`;
  // Tenant names come from config (safe characters); the rest are hashes.
  return {
    registry: `${base}:streams`,
    stream: (name) => `${base}:s:${name}`,
    head: (name) => `${base}:head:${name}`,
    anchor: (name) => `${base}:anchor:${name}`,
    all: (tenant) => `${base}:ix:${tenant}:all`,
    byPatient: (tenant, p) => `${base}:ix:${tenant}:p:${p}`,
    byClient: (tenant, c) => `${base}:ix:${tenant}:c:${c}`,
    byAgent: (tenant, a) => `${base}:ix:${tenant}:a:${a}`,
    indexPattern: `${base}:ix:*`,
    cursor: (name) => `${base}:cursor:${name}`,
  };
}
