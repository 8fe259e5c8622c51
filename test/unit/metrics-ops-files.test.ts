/**
 * The alert rules and the Grafana dashboard read only metrics the gateway exports: every name in
 * an expression is a sample of the registry the gateway builds, so renaming a metric without its
 * alert (or the reverse) fails here. The pipeline gauges report what the snapshot holds, and a
 * snapshot that never comes leaves them empty instead of holding the scrape.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { PipelineSnapshot } from '../../src/domain/metrics';
import { createLogger } from '../../src/observability/logger';
import { registerPipelineGauges } from '../../src/observability/pipeline-gauges';
import { projectRoot } from '../../src/project-root';
import { createMetricsWiring } from '../../src/wiring/metrics';
import { metricNamesIn, parseExposition, sampleNames } from '../support/prometheus-text';

const SNAPSHOT: PipelineSnapshot = {
  connections: [
    {
      connection: 'sandbox',
      operations: { queued: 3, sending: 1, failed: 2, needsReview: 0 },
      oldestPendingAgeSeconds: 42,
      drainPerSecond: 0.5,
      lanes: 2,
      breaker: 'open',
      credentials: 'credentials-rejected',
    },
  ],
  queues: [{ queue: 'writes-sandbox', counts: { waiting: 3, active: 1, failed: 0 } }],
  subscribers: [{ name: 'crm', deadLetters: 4 }],
  redisMemory: { usedBytes: 800, limitBytes: 1000 },
};

const logger = createLogger({ level: 'silent' });

function gatewayRegistry(snapshot: () => Promise<PipelineSnapshot>, deadlineMs = 1000) {
  const metrics = createMetricsWiring();
  registerPipelineGauges({ registry: metrics.registry, snapshot, deadlineMs, logger });
  return metrics;
}

/** Every sample name the gateway's registry can expose. */
function exportedNames(): Set<string> {
  const { registry } = gatewayRegistry(() => Promise.resolve(SNAPSHOT));
  return new Set(
    registry.getMetricsAsArray().flatMap((m) => {
      const { name, type } = m as unknown as { name: string; type: string };
      return sampleNames(name, type);
    }),
  );
}

interface Rule {
  alert?: unknown;
  expr?: unknown;
  for?: unknown;
  labels?: Record<string, unknown>;
  annotations?: Record<string, unknown>;
}

const root = projectRoot();
const rules = (
  parse(readFileSync(join(root, 'ops/prometheus/alerts.yml'), 'utf8')) as {
    groups: { name: string; rules: Rule[] }[];
  }
).groups.flatMap((g) => g.rules);

describe('ops/prometheus/alerts.yml', () => {
  it('is a rule file: named groups of alerts with an expression, a severity and a summary', () => {
    expect(rules.length).toBeGreaterThan(0);
    for (const rule of rules) {
      expect(typeof rule.alert).toBe('string');
      expect(typeof rule.expr).toBe('string');
      expect(['critical', 'warning']).toContain(rule.labels?.severity);
      expect(typeof rule.annotations?.summary).toBe('string');
      if (rule.for !== undefined) expect(rule.for).toMatch(/^\d+[smh]$/);
    }
  });

  it('alerts on an open breaker past 5 minutes, a write waiting past 15, dead letters, refused credentials and Redis headroom', () => {
    const byMetric = (name: string) => rules.filter((r) => metricNamesIn(String(r.expr)).includes(name));
    expect(byMetric('continuum_breaker_state').map((r) => [r.for, /== 2/.test(String(r.expr))])).toEqual([
      ['5m', true],
    ]);
    expect(String(byMetric('continuum_oldest_pending_age_seconds')[0]?.expr)).toMatch(/> 900\b/);
    expect(String(byMetric('continuum_event_dead_letters')[0]?.expr)).toMatch(/> 0\b/);
    expect(String(byMetric('continuum_credentials_rejected')[0]?.expr)).toMatch(/== 1\b/);
    const memory = String(byMetric('continuum_redis_memory_max_bytes')[0]?.expr);
    expect(memory).toMatch(/continuum_redis_memory_used_bytes/);
    expect(memory).toMatch(/< 0\.20?\b/);
  });

  it('alerts when no gateway process is scraped at all, since every other rule then goes quiet', () => {
    const down = rules.find((r) => /\bup\{job="continuum"\} == 0/.test(String(r.expr)));
    expect(down?.labels?.severity).toBe('critical');
    expect(String(down?.expr)).toMatch(/absent\(up\{job="continuum"\}\)/);
    // The scrape job the README's prometheus.yml names.
    expect(readFileSync(join(root, 'README.md'), 'utf8')).toMatch(/job_name: continuum\b/);
  });

  it('reads only metrics the gateway exports', () => {
    const exported = exportedNames();
    const unknown = rules.flatMap((r) => metricNamesIn(String(r.expr))).filter((n) => !exported.has(n));
    expect(unknown).toEqual([]);
  });
});

describe('ops/grafana dashboard', () => {
  const dashboard = JSON.parse(readFileSync(join(root, 'ops/grafana/continuum-dashboard.json'), 'utf8')) as {
    panels: { title: string; targets: { expr: string }[] }[];
  };

  it('reads only metrics the gateway exports, in every panel', () => {
    const exported = exportedNames();
    const exprs = dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr));
    expect(exprs.length).toBeGreaterThan(10);
    const unknown = exprs.flatMap(metricNamesIn).filter((n) => !exported.has(n));
    expect(unknown).toEqual([]);
  });

  it('has a panel for the breaker, the backlog, the drain and Redis memory', () => {
    const read = new Set(dashboard.panels.flatMap((p) => p.targets.flatMap((t) => metricNamesIn(t.expr))));
    for (const name of [
      'continuum_breaker_state',
      'continuum_operations',
      'continuum_oldest_pending_age_seconds',
      'continuum_drain_rate_per_second',
      'continuum_redis_memory_used_bytes',
    ]) {
      expect(read).toContain(name);
    }
  });
});

describe('pipeline gauges', () => {
  it('report the snapshot: breaker open as 2, refused credentials as 1, backlog, lanes, jobs, dead letters, memory', async () => {
    const { registry } = gatewayRegistry(() => Promise.resolve(SNAPSHOT));
    const scrape = parseExposition(await registry.metrics());
    expect(scrape.value('continuum_pipeline_snapshot_ok')).toBe(1);
    expect(scrape.value('continuum_breaker_state', { connection: 'sandbox' })).toBe(2);
    expect(scrape.value('continuum_credentials_rejected', { connection: 'sandbox' })).toBe(1);
    expect(scrape.value('continuum_operations', { connection: 'sandbox', status: 'queued' })).toBe(3);
    expect(scrape.value('continuum_operations', { connection: 'sandbox', status: 'failed' })).toBe(2);
    expect(scrape.value('continuum_oldest_pending_age_seconds', { connection: 'sandbox' })).toBe(42);
    expect(scrape.value('continuum_drain_rate_per_second', { connection: 'sandbox' })).toBe(0.5);
    expect(scrape.value('continuum_lanes', { connection: 'sandbox' })).toBe(2);
    expect(scrape.value('continuum_queue_jobs', { queue: 'writes-sandbox', state: 'waiting' })).toBe(3);
    expect(scrape.value('continuum_event_dead_letters', { subscriber: 'crm' })).toBe(4);
    expect(scrape.value('continuum_redis_memory_used_bytes')).toBe(800);
    expect(scrape.value('continuum_redis_memory_max_bytes')).toBe(1000);
  });

  it('take one snapshot per scrape, however many gauges read it', async () => {
    let taken = 0;
    const { registry } = gatewayRegistry(() => {
      taken++;
      return Promise.resolve(SNAPSHOT);
    });
    await registry.metrics();
    expect(taken).toBe(1);
  });

  it('leave the gauges empty and say so when the snapshot does not come, and the scrape still answers', async () => {
    let taken = 0;
    const { registry } = gatewayRegistry(() => {
      taken++;
      return new Promise<PipelineSnapshot>(() => undefined);
    }, 100);
    const scrape = parseExposition(await registry.metrics());
    // The next scrape joins the snapshot still hanging rather than piling another on Redis.
    expect(parseExposition(await registry.metrics()).value('continuum_pipeline_snapshot_ok')).toBe(0);
    expect(taken).toBe(1);
    expect(scrape.value('continuum_pipeline_snapshot_ok')).toBe(0);
    expect(scrape.find('continuum_breaker_state')).toEqual([]);
    expect(scrape.find('continuum_operations')).toEqual([]);
    // The process's own collectors are still there.
    expect(scrape.families).toContain('process_cpu_seconds_total');
  });
});
