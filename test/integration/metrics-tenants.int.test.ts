/**
 * /metrics names connections, subscribers and queues. A tenant's scraper sees its own and the
 * gateway-wide series, never another tenant's EHR connection, desk or queue.
 */
import request from 'supertest';
import { createClient, type TestClient } from '../support/client-credentials';
import { startInProcessApi, type InProcessApi } from '../support/in-process-api';
import { twoTenantConfig } from '../support/two-tenants';
import { parseExposition, type Exposition } from '../support/prometheus-text';

const CONFIG = twoTenantConfig({ ops: { connections: ['sandbox', 'other'] } });

let api: InProcessApi;
const clients: Record<string, TestClient> = {};

beforeAll(async () => {
  api = await startInProcessApi({ overrides: CONFIG });
  for (const tenant of ['default', 'south', 'ops']) {
    clients[tenant] = await createClient(api.access, `scraper-${tenant}`, tenant, ['metrics:read']);
  }
});
afterAll(async () => {
  await api.stop();
});

async function scrape(tenant: string): Promise<Exposition> {
  const client = clients[tenant];
  if (client === undefined) throw new Error(`no client of ${tenant}`);
  const res = await request(api.url).get('/metrics').set('authorization', `Bearer ${client.key}`);
  expect(res.status).toBe(200);
  return parseExposition(res.text);
}

const named = (s: Exposition, label: string): string[] =>
  [...new Set(s.samples.map((x) => x.labels[label]).filter((v): v is string => v !== undefined))].sort();

it("shows a tenant its own connections, subscribers and queues, and no other tenant's", async () => {
  const south = await scrape('south');
  expect(named(south, 'connection')).toEqual(['other']);
  expect(named(south, 'subscriber')).toEqual(['desk-south']);
  expect(named(south, 'queue')).toEqual(['events-desk-south', 'writes-other']);
  expect(south.value('continuum_breaker_state', { connection: 'other' })).toBe(0);

  const own = await scrape('default');
  expect(named(own, 'connection')).toEqual(['sandbox']);
  expect(named(own, 'subscriber')).toEqual(['desk-default']);
  expect(named(own, 'queue')).toEqual(['events-desk-default', 'writes-sandbox']);
});

it('shows a tenant that sees every connection the shared notification queue, and still no one else’s desk', async () => {
  const ops = await scrape('ops');
  expect(named(ops, 'connection')).toEqual(['other', 'sandbox']);
  expect(named(ops, 'queue')).toEqual(['ehr-notifications', 'writes-other', 'writes-sandbox']);
  expect(named(ops, 'subscriber')).toEqual([]);
});

it('keeps the gateway-wide series for everyone', async () => {
  for (const tenant of ['default', 'south', 'ops']) {
    const s = await scrape(tenant);
    expect(s.families.has('continuum_http_request_duration_seconds')).toBe(true);
    expect(s.find('continuum_redis_memory_used_bytes').length).toBe(1);
    expect(s.find('process_cpu_user_seconds_total').length).toBe(1);
  }
});
