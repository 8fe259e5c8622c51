/**
 * The `Metrics` port on prom-client, registered on the Registry the composition root gives it
 * (never prom-client's global one: a test process runs several gateways). Counters and histograms
 * live in this process; a Prometheus server sums them across processes.
 */
import { Counter, Histogram, type Registry } from 'prom-client';
import type { Metrics } from '../domain/metrics';

/** Seconds: IVR budgets are 3 to 10 s, reads have a 2.5 s deadline, writes up to 15 s. */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30];
/** Seconds from an event's occurrence to its delivery: outages of subscribers last minutes to days. */
const LAG_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 21600, 86400];

export function createPrometheusMetrics(registry: Registry): Metrics {
  const registers = [registry];
  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[]): Counter<L> =>
    new Counter<L>({ name, help, labelNames, registers });
  const http = new Histogram({
    name: 'continuum_http_request_duration_seconds',
    help: 'HTTP requests by route-table key (unmatched: no route) and status code',
    labelNames: ['route', 'status'] as const,
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const ehr = new Histogram({
    name: 'continuum_ehr_call_duration_seconds',
    help: 'Calls to EHRs by connection, FHIR interaction and outcome',
    labelNames: ['connection', 'interaction', 'outcome'] as const,
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const cacheReads = counter(
    'continuum_cache_reads_total',
    'Continuity cache reads by connection and result (hit, miss)',
    ['connection', 'result'],
  );
  const cacheFallbacks = counter(
    'continuum_cache_fallbacks_total',
    'Reads answered from the continuity cache instead of the EHR, by connection and reason',
    ['connection', 'reason'],
  );
  const notifications = counter(
    'continuum_ehr_notifications_total',
    'EHR notifications by connection and outcome',
    ['connection', 'outcome'],
  );
  const events = counter(
    'continuum_events_total',
    'Call-center event deliveries by subscriber and outcome (delivered, retried, dead-lettered)',
    ['subscriber', 'outcome'],
  );
  const eventLag = new Histogram({
    name: 'continuum_event_delivery_lag_seconds',
    help: 'From an event to its delivery, by subscriber',
    labelNames: ['subscriber'] as const,
    buckets: LAG_BUCKETS,
    registers,
  });
  const verifications = counter('continuum_verifications_total', 'Identity verifications by outcome', [
    'outcome',
  ]);
  const refusals = counter(
    'continuum_rate_limit_refusals_total',
    'Requests refused by a limit: a client budget (lookup, verify, read, write), verify-caller, verify-patient, queued-writes, storage-full',
    ['limit'],
  );
  const audit = counter('continuum_audit_records_total', 'Audit records by outcome (written, failed)', [
    'outcome',
  ]);
  const writes = counter(
    'continuum_writes_finished_total',
    'Writes the workers finished, by connection and outcome: the drain of the backlog',
    ['connection', 'outcome'],
  );
  const lookups = counter(
    'continuum_lookups_total',
    'Caller lookups by connection and what answered them (index: reads by id, no phone search; search; cache)',
    ['connection', 'path'],
  );
  const phoneSearches = counter(
    'continuum_phone_searches_total',
    'Phone searches sent to EHRs by connection, query (combined, parallel) and purpose (lookup, recheck)',
    ['connection', 'query', 'purpose'],
  );

  return {
    httpRequest: (route, status, seconds) => {
      http.observe({ route, status: String(status) }, seconds);
    },
    ehrCall: (connection, interaction, outcome, seconds) => {
      ehr.observe({ connection, interaction, outcome }, seconds);
    },
    cacheRead: (connection, result) => {
      cacheReads.inc({ connection, result });
    },
    cacheFallback: (connection, reason) => {
      cacheFallbacks.inc({ connection, reason });
    },
    ehrNotification: (connection, outcome) => {
      notifications.inc({ connection, outcome });
    },
    eventDelivery: (subscriber, outcome, lagSeconds) => {
      events.inc({ subscriber, outcome });
      if (lagSeconds !== undefined && Number.isFinite(lagSeconds)) {
        eventLag.observe({ subscriber }, Math.max(0, lagSeconds));
      }
    },
    verification: (outcome) => {
      verifications.inc({ outcome });
    },
    rateLimitRefusal: (limit) => {
      refusals.inc({ limit });
    },
    auditRecord: (outcome) => {
      audit.inc({ outcome });
    },
    writeFinished: (connection, outcome) => {
      writes.inc({ connection, outcome });
    },
    lookupAnswered: (connection, path) => {
      lookups.inc({ connection, path });
    },
    phoneSearch: (connection, query, purpose) => {
      phoneSearches.inc({ connection, query, purpose });
    },
  };
}
