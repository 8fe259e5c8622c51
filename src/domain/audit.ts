/**
 * The audit trail: who touched which patient's record through Continuum, how, and with what
 * outcome (HIPAA 164.312(b)). A record holds references only (`Patient/123`, operation ids, a keyed
 * hash of a searched number), never PHI. It is stored compact and rendered as a FHIR R4 AuditEvent
 * when read or exported (`audit-event.ts`).
 */

/** What was done, in the FHIR restful-interaction vocabulary (AuditEvent.subtype). */
export type AuditSubtype = 'read' | 'search-type' | 'create' | 'update' | 'operation';

/** AuditEvent.action: Create, Read/view, Update, Delete, Execute. */
export type AuditAction = 'C' | 'R' | 'U' | 'D' | 'E';

/**
 * AuditEvent.outcome: 0 success, 4 minor failure (the caller's mistake: refused, not found),
 * 8 serious failure (the request could not be served), 12 major failure.
 */
export type AuditOutcome = 0 | 4 | 8 | 12;

/** Who acted through which door: an API client, a worker applying a write, the CLI, the EHR. */
export type AuditChannel = 'api' | 'worker' | 'cli' | 'ehr';

export interface AuditRecord {
  /** When it happened (ISO 8601). */
  readonly recorded: string;
  /** Our name for the act, e.g. `patient.lookup`, `write.applied`, `client.revoked`. */
  readonly kind: string;
  readonly subtype: AuditSubtype;
  readonly action: AuditAction;
  readonly outcome: AuditOutcome;
  /** The HTTP status answered, or the operation's final status for a worker apply. */
  readonly result?: string;
  readonly channel: AuditChannel;
  /** The API client (or, for a worker apply, the client the write was accepted for). */
  readonly client?: string;
  readonly tenant?: string;
  /** The human agent the caller named (`X-Agent-Id`, `agentName`), or the OS user of the CLI. */
  readonly agent?: string;
  /** This gateway process (AuditEvent.source.observer). */
  readonly source: string;
  readonly connection?: string;
  /** Patient references, e.g. `Patient/123`. */
  readonly patients?: readonly string[];
  /** Other resources touched, e.g. `Appointment/9`, `Client/cl_...`. */
  readonly resources?: readonly string[];
  readonly operation?: string;
  /** A keyed hash of what was searched (a phone number): lets one search be matched to another, never read. */
  readonly query?: string;
  readonly requestId?: string;
  /** The route pattern, e.g. `GET /v1/patients/:id`. */
  readonly route?: string;
}

/** A record as an act is described; the trail stamps it with its `source`. */
export type NewAuditRecord = Omit<AuditRecord, 'source'>;

/** A stored record: where it sits in its stream, and the link that chains it to the one before. */
export interface StoredAuditRecord {
  /** `<stream>/<entry id>`; stable, usable as a cursor. */
  readonly id: string;
  readonly record: AuditRecord;
}

export interface AuditQuery {
  /** Only records of this tenant; undefined: every tenant (the CLI's export). */
  readonly tenant: string | undefined;
  readonly patient?: string;
  readonly client?: string;
  readonly agent?: string;
  readonly since?: Date;
  readonly until?: Date;
  /** Opaque, from the previous page. */
  readonly cursor?: string;
  readonly limit: number;
}

export interface AuditPage {
  readonly records: readonly StoredAuditRecord[];
  /** Present when more records match. */
  readonly next?: string;
}

/** A problem `verify` found in one stream's chain. */
export interface AuditChainProblem {
  readonly stream: string;
  /** The first record that does not verify, or the one after a gap. */
  readonly entry: string;
  readonly problem: 'changed' | 'missing-before' | 'unreadable';
  readonly detail: string;
}

export interface AuditVerification {
  readonly streams: number;
  readonly records: number;
  readonly problems: readonly AuditChainProblem[];
}

/**
 * Where records go. `append` resolves once every record is stored: the API answers only after
 * that, so an access that cannot be recorded is refused instead of served unrecorded.
 */
export interface AuditTrail {
  append(record: NewAuditRecord): Promise<void>;
}

/** How far a reader got in each stream: stream name to the last entry id it took. */
export type AuditCursor = Readonly<Record<string, string>>;

export interface AuditStore extends AuditTrail {
  query(query: AuditQuery): Promise<AuditPage>;
  /** Every record from `since` on, oldest first, across streams (the CLI's export). */
  scan(since: Date | undefined, until: Date | undefined): AsyncIterable<StoredAuditRecord>;
  verify(): Promise<AuditVerification>;
  /** Drops what is past retention; returns how many records went. */
  trim(): Promise<number>;
  /** Up to `limit` records after `cursor`, stream by stream in each stream's order. */
  readAfter(cursor: AuditCursor, limit: number): Promise<readonly StoredAuditRecord[]>;
  /** A named reader's saved place (empty: the start of every stream). */
  cursor(name: string): Promise<AuditCursor>;
  saveCursor(name: string, cursor: AuditCursor): Promise<void>;
}
