/**
 * /metrics wherever the work happens: a worker process (EHR calls, deliveries) serves it as well
 * as an API process. And a data directory from a release before `metrics:read` existed: its admin
 * client is given the new scope at start-up, so the key an operator already has can scrape.
 */
import { rmSync } from 'node:fs';
import { Redis } from 'ioredis';
import { http } from '../support/http';
import { parseExposition } from '../support/prometheus-text';
import { deletePrefix, TEST_REDIS_URL } from '../support/redis';
import { startTestGateway } from '../support/test-gateway';

jest.setTimeout(60000);

it('serves /metrics in the worker role, which serves no API', async () => {
  const worker = await startTestGateway({ role: 'worker', overrides: { sandbox: { enabled: false } } });
  try {
    const res = await fetch(`${worker.url}/metrics`, { headers: { authorization: `Bearer ${worker.key}` } });
    expect(res.status).toBe(200);
    const families = parseExposition(await res.text()).families;
    for (const family of [
      'continuum_writes_finished_total',
      'continuum_ehr_call_duration_seconds',
      'continuum_events_total',
      'continuum_breaker_state',
      'process_cpu_seconds_total',
    ]) {
      expect(families).toContain(family);
    }
    expect((await http('GET', `${worker.url}/metrics`, { anonymous: true })).status).toBe(401);
    expect((await http('GET', `${worker.url}/v1/status`)).status).toBe(404);
  } finally {
    await worker.stop();
  }
});

it('gives an admin client made before metrics:read existed that scope at the next start', async () => {
  const older = await startTestGateway({ overrides: { sandbox: { enabled: false } } });
  await older.gateway.close();
  const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 2 });
  try {
    // The admin client as an older release stored it: every scope it knew, not metrics:read.
    const [recordKey] = await redis.keys(`{${older.prefix}}:clients:record:*`);
    expect(recordKey).toBeDefined();
    const record = JSON.parse((await redis.get(recordKey ?? '')) ?? '{}') as {
      name: string;
      scopes: string[];
    };
    expect(record.name).toBe('admin');
    record.scopes = record.scopes.filter((scope) => scope !== 'metrics:read');
    await redis.set(recordKey ?? '', JSON.stringify(record));

    const newer = await startTestGateway({
      key: older.key,
      overrides: {
        sandbox: { enabled: false },
        redis: { keyPrefix: older.prefix, requireDurability: false },
      },
    });
    try {
      expect(newer.gateway.adminKeyFile).toBeUndefined();
      const res = await http('GET', `${newer.url}/metrics`);
      expect(res.status).toBe(200);
      const stored = JSON.parse((await redis.get(recordKey ?? '')) ?? '{}') as { scopes: string[] };
      expect(stored.scopes).toContain('metrics:read');
      expect(newer.logs.text()).toMatch(/granted the admin client the scopes it lacked/);
    } finally {
      await newer.stop();
    }
  } finally {
    redis.disconnect();
    await deletePrefix(older.prefix);
    rmSync(older.dataDir, { recursive: true, force: true });
  }
});
