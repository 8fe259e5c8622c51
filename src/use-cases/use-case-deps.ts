/**
 * What use cases receive from the composition root. Per-connection things are looked up by
 * connection name, so one gateway can front several EHRs.
 */
import type { ActivationStore } from '../domain/activation';
import type { AuditStore } from '../domain/audit';
import type { CallbackBook, CallbackWindowRules } from '../domain/callback-windows';
import type { EhrCapabilities } from '../domain/ehr-capabilities';
import type { ContinuumError } from '../domain/errors';
import type { MappingCatalog } from '../domain/mapping-catalog';
import type { MappingProfile } from '../domain/mapping-profile';
import type { MappingVersionStore } from '../domain/mapping-versions';
import type { Metrics } from '../domain/metrics';
import type {
  AttemptLimiter,
  Clock,
  EhrClient,
  EventPublisher,
  FinalSignals,
  Logger,
  NotificationLog,
  NotificationQueue,
  OperationStore,
  PatientHold,
  PhoneIndex,
  ReadCache,
  SlotHolds,
  WriteQueue,
  DrainRate,
} from '../domain/ports';
import type { StorageLimits } from '../domain/storage-limits';
import type { ClosedSites } from '../domain/closure';
import type { CountryCode } from '../phone';
import type { BackgroundRefreshes } from './background-refreshes';
import type { ConfirmedPatients } from './confirmed-patients';
import type { PhoneSearchWay } from './phone-search-way';
import type { RecentPhoneSearches } from './recent-phone-searches';

/** The reads whose deadline can be set on its own (IVR platforms wait 3 to 10 s, each differently). */
export const READ_KINDS = ['lookup', 'patient', 'appointments', 'slots', 'verify'] as const;
export type ReadKind = (typeof READ_KINDS)[number];

export interface ConnectionContext {
  readonly name: string;
  readonly ehr: EhrClient;
  /** The running version of the connection's profile: what new work is accepted under. */
  readonly mapping: MappingProfile;
  readonly readDeadlineMs: number;
  /** The read deadline of one kind of read: its own when configured, else `readDeadlineMs`. */
  readDeadline(read: ReadKind): number;
  readonly writeTimeoutMs: number;
  /** How long a write waits for the EHR's check before it is queued unconfirmed. */
  readonly acceptCheckMs: number;
  /** How long a read with a cached answer waits for the EHR before answering from the cache. */
  readonly staleAfterMs: number;
  /** EHR reads still refreshing the cache after their caller was answered from it. */
  readonly refreshes: BackgroundRefreshes;
  /**
   * The region numbers without a country code are read in, for this EHR: its mapping profile's
   * when the profile pins one, else the gateway's `phone.defaultRegion`. The API validates numbers
   * with it, so a number it accepts is one the profile can store.
   */
  readonly phoneRegion: CountryCode;
  /** The `Patient?phone=` value for an E.164 number: every format the EHR may have stored it in. */
  phoneSearchValue(e164: string): string;
  /** The same formats, one search value each. */
  phoneSearchValues(e164: string): readonly string[];
  /** Whether a search over several formats goes as one query or one per format, on this EHR. */
  readonly phoneSearchWay: PhoneSearchWay;
  /** Numbers searched lately: a lookup answered by the phone index rechecks a number once per window. */
  readonly recentPhoneSearches: RecentPhoneSearches;
  /** What this EHR supports: the FHIR interactions the use cases choose. */
  readonly capabilities: EhrCapabilities;
  /** Patients this EHR confirmed recently: writes for them skip the existence check. */
  readonly confirmedPatients: ConfirmedPatients;
  /**
   * False while this EHR's circuit breaker is open or it refuses the connection's credentials: reads
   * and checks should not wait on it.
   */
  ehrAvailable(): Promise<boolean>;
  /**
   * Why the EHR was not asked, after `ehrAvailable()` said false: the error a read answers when
   * nothing is cached (`EHR_CREDENTIALS_REJECTED` while the credentials are refused).
   */
  ehrOutage?(): ContinuumError;
  /** A read got an answer: feeds the circuit breaker (never throws). */
  ehrAnswered(): Promise<void>;
  /**
   * A read found the EHR unavailable: feeds the circuit breaker, so reads stop waiting on it (never
   * throws). Given the error, a refusal of the credentials is left to the credentials state.
   */
  ehrFailed(error?: unknown): Promise<void>;
}

export interface UseCaseDeps {
  readonly connections: ReadonlyMap<string, ConnectionContext>;
  /** The running mapping profiles and every stored version: a queued write applies with its own. */
  readonly mappingCatalog: MappingCatalog;
  /** Every profile version any process loaded, by hash: for diffs and reviews of what changed. */
  readonly mappingVersions: MappingVersionStore;
  readonly defaultConnection: string;
  readonly store: OperationStore;
  /** Word that an operation was saved final, from any process: what `Prefer: wait` waits on. */
  readonly finalSignals: FinalSignals;
  readonly queue: WriteQueue;
  /** How fast each connection's writes drain now: the basis of every receipt's `expectedBy`. */
  readonly drain: DrainRate;
  readonly phoneIndex: PhoneIndex;
  /** The last good answer of each read, for when the EHR cannot answer. */
  readonly readCache: ReadCache;
  /** Call-center events out: handed to every subscriber that wants them. */
  readonly events: EventPublisher;
  /** EHR notifications: what was seen (de-duplication, gaps) and the queue of those accepted. */
  readonly notificationLog: NotificationLog;
  readonly notifications: NotificationQueue;
  /** Slots promised to bookings still waiting in the queue. */
  readonly slotHolds: SlotHolds;
  /** Failed identity verifications per caller: past the limit, verification is refused for a while. */
  readonly attemptLimiter: AttemptLimiter;
  /** Failed identity verifications per patient: past the limit, that patient's self-verification is held. */
  readonly patientHold: PatientHold;
  /** Queued writes per client and the write store's memory: past them, new writes are refused. */
  readonly storage: StorageLimits;
  readonly clock: Clock;
  readonly logger: Logger;
  /** How long an API write waits for Redis before answering 503. */
  readonly enqueueTimeoutMs: number;
  /** Who touched which record: every PHI access and every write applied is recorded here. */
  readonly audit: AuditStore;
  /** Crisis activations per tenant, and the notices they publish. */
  readonly activations: ActivationStore;
  /** When callbacks may be promised, and the places each window has left. */
  readonly callbackWindows: CallbackWindowRules;
  readonly callbackBook: CallbackBook;
  /** Sites closed by a crisis: in-person visits there are neither offered nor booked. Absent: none. */
  readonly closedSites?: ClosedSites;
  /** Counts for operators (cache fallbacks, verifications, notifications); absent: not counted. */
  readonly metrics?: Metrics;
}
