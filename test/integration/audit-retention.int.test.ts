/**
 * Retention: records past `audit.retentionDays` are trimmed by time (never by count), with their
 * index entries, and the trimmed stream still verifies: the anchor keeps the last trimmed link.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { createRedisAuditStore } from '../../adapters/redis/audit-store';
import { createRecordCipher } from '../../adapters/redis/record-cipher';
import type { AuditStore, NewAuditRecord } from '../../src/domain/audit';
import { deletePrefix, TEST_REDIS_URL } from '../support/redis';
import { waitFor } from '../support/wait-for';

const prefixName = `test-audit-retention-${randomUUID()}`;
const key = randomBytes(32);
const cipher = createRecordCipher(key);
let redis: Redis;

function store(retentionMs: number): AuditStore {
  return createRedisAuditStore({
    redis,
    appendRedis: redis,
    prefix: `{${prefixName}}`,
    key,
    blind: (v) => cipher.blind(v),
    stream: 'gateway-retention',
    retentionMs,
    tenantsFor: () => ['north'],
    deadlineMs: 5000,
  });
}

const read = (patient: string): NewAuditRecord => ({
  recorded: new Date().toISOString(),
  kind: 'patient.read',
  action: 'R',
  subtype: 'read',
  outcome: 0,
  channel: 'api',
  client: 'cl_retention',
  tenant: 'north',
  patients: [`Patient/${patient}`],
});

beforeAll(() => {
  redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 2 });
});
afterAll(async () => {
  redis.disconnect();
  await deletePrefix(prefixName);
});

it('trims records past retention by time, with their index entries, and the stream still verifies', async () => {
  const writer = store(90 * 86_400_000);
  for (let i = 0; i < 5; i++) await writer.append(read('pat-old'));
  // The boundary: every old record is strictly before it, every new one strictly after.
  // The new ones come well after it: a busy machine may take a while between a trimmer's start and
  // its trim, and the cutoff moves with the clock.
  const boundary = Date.now() + 20;
  await waitFor(() => Promise.resolve(Date.now() > boundary + 500 ? true : undefined));
  for (let i = 0; i < 5; i++) await writer.append(read('pat-new'));

  // Retention as long as it takes to reach back to the boundary, from now.
  const trimmer = (): AuditStore => store(Date.now() - boundary);
  expect(await trimmer().trim()).toBe(5);
  expect(await trimmer().verify()).toEqual({ streams: 1, records: 5, problems: [] });
  const old = await trimmer().query({ tenant: 'north', patient: 'Patient/pat-old', limit: 10 });
  expect(old.records).toHaveLength(0);
  const kept = await trimmer().query({ tenant: 'north', patient: 'Patient/pat-new', limit: 10 });
  expect(kept.records).toHaveLength(5);
  // A second trim finds nothing more, and the writer goes on chaining after the trim.
  expect(await trimmer().trim()).toBe(0);
  await writer.append(read('pat-new'));
  expect(await trimmer().verify()).toEqual({ streams: 1, records: 6, problems: [] });
});
