/**
 * An access the audit trail cannot record is not served. With Redis frozen (SIGSTOP: the socket
 * stays open, nothing answers) a patient read answers 503 within the deadline and discloses
 * nothing of the record; once Redis is back, reads are served and recorded again, and the chain
 * is intact: the batch that was in flight when Redis froze did not fork it.
 */
import { createRecordCipher, loadOrCreateKey } from '../../adapters/redis/record-cipher';
import { createRedisAuditStore } from '../../adapters/redis/audit-store';
import { Redis } from 'ioredis';
import { http } from '../support/http';
import { useFreezableRedisGateway } from '../support/freezable-redis-gateway';

jest.setTimeout(60000);

const rig = useFreezableRedisGateway();

it('refuses a read it cannot record, and keeps the chain whole afterwards', async () => {
  const url = `${rig().gateway.url}/v1/patients/pat-0004`;
  const served = await http('GET', url);
  expect(served.status).toBe(200);
  const family = (served.body as { name: { family: string } }).name.family;

  rig().freeze();
  let refused;
  const started = Date.now();
  try {
    refused = await http('GET', url, { timeoutMs: 10000 });
  } finally {
    rig().thaw();
  }
  expect(refused.status).toBe(503);
  expect(Date.now() - started).toBeLessThan(5000);
  expect(JSON.stringify(refused.body)).not.toContain(family);
  expect(refused.headers.get('retry-after')).toBe('2');

  const again = await http('GET', url);
  expect(again.status).toBe(200);

  // The chain, checked as `continuum audit verify` does, with the gateway's key and prefix.
  const { config } = rig();
  const key = loadOrCreateKey(config.encryption.key, config.dataDir);
  const redis = new Redis(rig().redis.url, { maxRetriesPerRequest: 2 });
  try {
    const store = createRedisAuditStore({
      redis,
      appendRedis: redis,
      prefix: `{${config.redis.keyPrefix}}`,
      key,
      blind: (v) => createRecordCipher(key).blind(v),
      stream: 'test-reader',
      retentionMs: 86_400_000,
      tenantsFor: () => ['default'],
      deadlineMs: 5000,
    });
    const verification = await store.verify();
    expect(verification.problems).toEqual([]);
    expect(verification.records).toBeGreaterThanOrEqual(2);
  } finally {
    redis.disconnect();
  }
});
