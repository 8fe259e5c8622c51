/**
 * PHI at rest in Redis is sealed: after a registration, a lookup, reads and a correction queued
 * during an outage, every key and every raw value under the gateway's prefix (operation records,
 * queued jobs, continuity cache, phone index, lanes) is searched for canary values, as stored and
 * as they would read if a record were only compressed. Phone-index keys carry no number in clear.
 */
import { inflateRawSync } from 'node:zlib';
import { Redis } from 'ioredis';
import { http } from '../support/http';
import { setFaults, useSandboxGateway, waitForFinal } from '../support/pipeline';
import { TEST_REDIS_URL } from '../support/redis';

jest.setTimeout(60000);

const gw = useSandboxGateway();
const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 2 });
afterAll(() => {
  redis.disconnect();
});

const CANARY = {
  given: 'Qqsealedgiven',
  family: 'Zzsealedfamily',
  birthDate: '1912-08-23',
  email: 'sealed.canary@sealed-canary.example',
  street: 'Sealedcanary Row 5',
  phoneNational: '6465550173',
  phoneE164: '+16465550173',
  newPhoneNational: '6465550174',
  newPhoneE164: '+16465550174',
  newEmail: 'sealed.queued@sealed-canary.example',
};

/** Every raw value under the prefix, whatever the key's type, as buffers. */
async function rawEntries(prefix: string): Promise<{ key: string; values: Buffer[] }[]> {
  const out: { key: string; values: Buffer[] }[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `{${prefix}}*`, 'COUNT', 1000);
    cursor = next;
    for (const key of keys) {
      const type = await redis.type(key);
      const read: Record<string, () => Promise<unknown>> = {
        string: () => redis.getBuffer(key),
        hash: () => redis.hgetallBuffer(key),
        list: () => redis.lrangeBuffer(key, 0, -1),
        set: () => redis.smembersBuffer(key),
        zset: () => redis.callBuffer('ZRANGE', key, '0', '-1', 'WITHSCORES'),
        stream: () => redis.callBuffer('XRANGE', key, '-', '+'),
      };
      const value = await (read[type] ?? (() => Promise.resolve(null)))();
      out.push({ key, values: flatten(value) });
    }
  } while (cursor !== '0');
  return out;
}

function flatten(value: unknown): Buffer[] {
  if (Buffer.isBuffer(value)) return [value];
  if (typeof value === 'string') return [Buffer.from(value)];
  if (Array.isArray(value)) return value.flatMap(flatten);
  if (value !== null && typeof value === 'object')
    return Object.entries(value).flatMap(([k, v]) => [Buffer.from(k), ...flatten(v)]);
  return [];
}

/** A value as it reads in clear, and as it would read if it were compressed but not encrypted. */
function readings(value: Buffer): string[] {
  const texts = [value.toString('utf8'), value.toString('latin1')];
  // Offsets: a bare deflate stream, after a version byte, after version, IV and tag.
  for (const offset of [0, 1, 29]) {
    try {
      texts.push(inflateRawSync(value.subarray(offset), { windowBits: 11 }).toString('utf8'));
    } catch {
      // not a deflate stream at this offset
    }
  }
  return texts;
}

it('holds no name, birth date, number, email or address in clear in any key or value', async () => {
  const registered = await http('POST', `${gw().url}/v1/patients`, {
    body: {
      name: { given: [CANARY.given], family: CANARY.family },
      birthDate: CANARY.birthDate,
      gender: 'female',
      phones: [CANARY.phoneNational],
      email: CANARY.email,
      address: { line: [CANARY.street], city: 'Salem', state: 'MA', postalCode: '01970' },
    },
    headers: { prefer: 'wait=10' },
  });
  expect(registered.status).toBe(201);
  const patientId = registered.body.patientId as string;
  const lookup = await http('GET', `${gw().url}/v1/patients/lookup?phone=${CANARY.phoneNational}`);
  expect(lookup.body.matches.map((m: { id: string }) => m.id)).toContain(patientId);
  expect((await http('GET', `${gw().url}/v1/patients/${patientId}/summary`)).status).toBe(200);

  // A correction taken while the EHR is down sits in Redis, queued, until it is back.
  await setFaults(gw().url, { mode: 'down', kind: 'refuse' });
  const queued = await http('PATCH', `${gw().url}/v1/patients/${patientId}`, {
    body: { phones: [CANARY.newPhoneNational], email: CANARY.newEmail },
  });
  expect(queued.status).toBe(202);
  const cached = await http('GET', `${gw().url}/v1/patients/lookup?phone=${CANARY.phoneNational}`);
  expect(cached.body).toMatchObject({ found: true, freshness: { source: 'cache' } });

  const entries = await rawEntries(gw().prefix);
  // What must be there, sealed: the operations, the cache and the phone index.
  const kinds = (part: string): number => entries.filter((e) => e.key.includes(part)).length;
  expect({ phone: kinds(':phone:') > 0, cache: kinds(':cache:') > 0 }).toEqual({ phone: true, cache: true });
  const everything = entries.flatMap((e) => [e.key, ...e.values.flatMap(readings)]).join('\n');
  expect(everything).toContain(queued.body.operationId as string);
  for (const [field, value] of Object.entries(CANARY)) {
    expect({ field, found: everything.includes(value) }).toEqual({ field, found: false });
  }
  // No number in clear in any key, however written.
  const digits = [CANARY.phoneNational, CANARY.newPhoneNational].flatMap((n) => [n, `1${n}`]);
  const keysWithNumber = entries
    .map((e) => e.key)
    .filter((k) => digits.some((d) => k.replace(/\D/g, '').includes(d)));
  expect(keysWithNumber).toEqual([]);

  await setFaults(gw().url, { mode: 'up' });
  const [receipt] = await waitForFinal(gw().url, [queued.body.operationId as string]);
  expect(receipt.status).toBe('succeeded');
});
