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
  const cacheReads = new Counter({
    name: 'continuum_cache_reads_total',
    help: 'Continuity cache reads by connection and result (hit, miss)',
    labelNames: ['connection', 'result'] as const,
    registers,
  });
  const cacheFallbacks = new Counter({
    name: 'continuum_cache_fallbacks_total',
    help: 'Reads answered from the continuity cache instead of the EHR, by connection and reason',
    labelNames: ['connection', 'reason'] as const,
    registers,
  });
  const notifications = new Counter({
    name: 'continuum_ehr_notifications_total',
    help: 'EHR notifications by connection and outcome',
    labelNames: ['connection', 'outcome'] as const,
    registers,
  });
  const events = new Counter({
    name: 'continuum_events_total',
    help: 'Call-center event deliveries by subscriber and outcome (delivered, retried, dead-lettered)',
    labelNames: ['subscriber', 'outcome'] as const,
    registers,
  });
  const eventLag = new Histogram({
    name: 'continuum_event_delivery_lag_seconds',
    help: 'From an event to its delivery, by subscriber',
    labelNames: ['subscriber'] as const,
    buckets: LAG_BUCKETS,
    registers,
  });
  const verifications = new Counter({
    name: 'continuum_verifications_total',
    help: 'Identity verifications by outcome',
    labelNames: ['outcome'] as const,
    registers,
  });
  const refusals = new Counter({
    name: 'continuum_rate_limit_refusals_total',
    help: 'Requests refused by a limit: a client budget (lookup, verify, read, write), verify-caller, verify-patient, queued-writes, storage-full',
    labelNames: ['limit'] as const,
    registers,
  });
  const audit = new Counter({
    name: 'continuum_audit_records_total',
    help: 'Audit records by outcome (written, failed)',
    labelNames: ['outcome'] as const,
    registers,
  });
  const writes = new Counter({
    name: 'continuum_writes_finished_total',
    help: 'Writes the workers finished, by connection and outcome: the drain of the backlog',
    labelNames: ['connection', 'outcome'] as const,
    registers,
  });

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
  };
}
