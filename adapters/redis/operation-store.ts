/**
 * Operations and their lanes in Redis. Records are sealed (AES-256-GCM) because payloads carry PHI.
 * Acceptance is one Lua script: the idempotency key, the record, the status index and the lane
 * entry are written together, so ten concurrent requests with one key store exactly one operation
 * and no accepted operation can be missing from its lane. Finished operations expire after the
 * retention period. All keys share one hash tag (the prefix), so this works on Redis Cluster.
 * Idempotency keys are stored as keyed hashes, never in clear.
 */
import { ReplyError, type Redis } from 'ioredis';
import type { RecordCipher } from './record-cipher';
import {
  OPERATION_STATUSES,
  TERMINAL_STATUSES,
  urgencyOf,
  type Operation,
  type OperationStatus,
} from '../../src/domain/operation';
import type { OperationStore } from '../../src/domain/ports';
import type { OperationOwner } from '../../src/domain/operation';
import { luaScript } from './lua-script';

// KEYS: record, idempotency key (or ''), queued index, lane, lane set, the owner's waiting set (or ''),
// the lane's urgent set, the connection's urgent set.
// ARGV: id, sealed, score, lane name, deadline (ms since the epoch), queued-writes cap (0 = none),
// '1' when the write is urgent.
// Returns {'created', lane position, lane head} | {'exists', id} | {'late', ms past the deadline}
// | {'quota', writes waiting}.
// The deadline is checked against Redis's own clock before anything is written. An insert can
// reach Redis long after the API answered 503 (resent by the client after a reconnect, or read
// from a socket buffer after a stall); storing it then would apply a write its caller was told
// failed, behind writes accepted since. Redis >= 5 replicates and logs a script by its effects,
// so an AOF replay re-applies what was stored and does not run this check again. The same insert
// sent twice (ioredis resends unanswered commands after a reconnect) finds its own record and
// stores nothing more, with or without an idempotency key.
// The owner's waiting set holds the ids of its operations not yet final: its size is checked
// against the cap and the id added in the same script, so concurrent inserts cannot overrun it,
// and a replay (an existing key or record) is answered before it, so it never counts twice.
const INSERT = luaScript(`
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local deadline = tonumber(ARGV[5])
if now > deadline then return {'late', now - deadline} end
if redis.call('EXISTS', KEYS[1]) == 1 then return {'exists', ARGV[1]} end
if KEYS[2] ~= '' then
  local existing = redis.call('GET', KEYS[2])
  if existing then return {'exists', existing} end
end
if KEYS[6] ~= '' then
  local cap = tonumber(ARGV[6])
  local waiting = redis.call('SCARD', KEYS[6])
  if cap > 0 and waiting >= cap then return {'quota', waiting} end
  redis.call('SADD', KEYS[6], ARGV[1])
end
if KEYS[2] ~= '' then redis.call('SET', KEYS[2], ARGV[1]) end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
local position = redis.call('RPUSH', KEYS[4], ARGV[1])
redis.call('SADD', KEYS[5], ARGV[4])
if ARGV[7] == '1' then
  redis.call('SADD', KEYS[7], ARGV[1])
  redis.call('SADD', KEYS[8], ARGV[1])
end
return {'created', position, redis.call('LINDEX', KEYS[4], 0)}
`);

// KEYS: record, the six status indexes (in OPERATION_STATUSES order), idempotency key (or ''),
// the owner's waiting set (or ''), the lane's urgent set, the connection's urgent set.
// ARGV: id, sealed, new status index (1-based), expected status index (0 = any), score, ttl (0 = none),
// final-status channel.
// A final status (a ttl) takes the id out of the owner's waiting set, once: SREM of an id not
// there (a second save, an operation accepted before the set existed) changes nothing, so the
// count never goes below what is really waiting. Any other status puts it back (an operator's
// retry queues it again; an operation accepted before the set existed is counted from its first
// save on). A final status also takes it out of the urgent sets: a cancelled urgent write waiting
// behind its lane's head no longer pulls the lane forward (a retry's requeue puts it back).
// A final status is published on the channel (the id only: no PHI on the wire) from inside the
// script, so a caller waiting on the receipt that hears it reads the record already saved.
const SAVE = luaScript(`
local expected = tonumber(ARGV[4])
if expected > 0 and not redis.call('ZSCORE', KEYS[1 + expected], ARGV[1]) then return 0 end
local status = tonumber(ARGV[3])
for i = 1, 6 do
  if i ~= status then redis.call('ZREM', KEYS[1 + i], ARGV[1]) end
end
redis.call('ZADD', KEYS[1 + status], ARGV[5], ARGV[1])
if ARGV[6] ~= '0' then
  redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[6])
  if KEYS[8] ~= '' then redis.call('EXPIRE', KEYS[8], ARGV[6]) end
  if KEYS[9] ~= '' then redis.call('SREM', KEYS[9], ARGV[1]) end
  redis.call('SREM', KEYS[10], ARGV[1])
  redis.call('SREM', KEYS[11], ARGV[1])
  redis.call('PUBLISH', ARGV[7], ARGV[1])
else
  redis.call('SET', KEYS[1], ARGV[2])
  if KEYS[8] ~= '' then redis.call('PERSIST', KEYS[8]) end
  if KEYS[9] ~= '' then redis.call('SADD', KEYS[9], ARGV[1]) end
end
return 1
`);

// A lane's urgent set, and its connection's, hold the ids of urgent writes not yet final and still in
// their lane: they change in the same scripts as the lane and the record, so urgency is never read
// half-updated.

// KEYS: lane, lane set, lane's urgent set, connection's urgent set. ARGV: id, lane name. Pops the op
// if it is the head; returns the new head.
const ADVANCE = luaScript(`
if redis.call('LINDEX', KEYS[1], 0) == ARGV[1] then
  redis.call('LPOP', KEYS[1])
  redis.call('SREM', KEYS[3], ARGV[1])
  redis.call('SREM', KEYS[4], ARGV[1])
end
local head = redis.call('LINDEX', KEYS[1], 0)
if not head then
  redis.call('SREM', KEYS[2], ARGV[2])
  redis.call('DEL', KEYS[3])
  return ''
end
return head
`);

// KEYS: lane, lane set, lane's urgent set, connection's urgent set. ARGV: id, lane name, '1' when the
// write is urgent.
const REQUEUE = luaScript(`
redis.call('LREM', KEYS[1], 0, ARGV[1])
local position = redis.call('RPUSH', KEYS[1], ARGV[1])
redis.call('SADD', KEYS[2], ARGV[2])
if ARGV[3] == '1' then
  redis.call('SADD', KEYS[3], ARGV[1])
  redis.call('SADD', KEYS[4], ARGV[1])
end
return position
`);

/**
 * True when the insert certainly did not run: ioredis refused to send it (no connection, and the
 * accept connection has no offline queue), or Redis answered it with an error (out of memory, a
 * script error). Anything else, a connection closed or a retry limit reached while the command was
 * out, leaves the insert possibly applied.
 */
function neverRan(error: unknown): boolean {
  if (error instanceof ReplyError) return true;
  return error instanceof Error && error.message.startsWith("Stream isn't writeable");
}

export interface RedisOperationStoreOptions {
  readonly redis: Redis;
  /**
   * The connection `insert` uses: one without an offline queue (`enableOfflineQueue: false`, the
   * producers'), so a write is refused at once while Redis is away instead of waiting to be sent
   * when it returns.
   */
  readonly acceptRedis: Redis;
  /** Hash-tagged prefix, e.g. `{continuum}`. */
  readonly prefix: string;
  readonly cipher: RecordCipher;
  readonly retentionSeconds: number;
  /** Where the id of an operation saved in a final status is published (see final-signals.ts). */
  readonly finalChannel: string;
}

export function createRedisOperationStore(options: RedisOperationStoreOptions): OperationStore {
  const { redis, acceptRedis, prefix, cipher } = options;
  const recordKey = (id: string): string => `${prefix}:op:${id}`;
  // Keyed hashes, like phone numbers: callers put call ids and other identifiers in these keys,
  // and key names are in clear in Redis, its AOF and its logs. A lookup hashes the key the same way.
  const idemKeyFor = (connection: string, key: string): string =>
    `${prefix}:idem:${connection}:${cipher.blind(`idempotency-key\n${key}`)}`;
  const idemKey = (op: Operation): string =>
    op.idempotencyKey === undefined ? '' : idemKeyFor(op.connection, op.idempotencyKey);
  const statusKey = (connection: string, status: OperationStatus): string =>
    `${prefix}:ops:${connection}:${status}`;
  const laneKey = (lane: string): string => `${prefix}:lane:${lane}`;
  const laneSetKey = (connection: string): string => `${prefix}:lanes:${connection}`;
  const laneUrgentKey = (lane: string): string => `${prefix}:lane-urgent:${lane}`;
  const urgentKey = (connection: string): string => `${prefix}:urgent:${connection}`;
  const urgentFlag = (op: Operation): string => (urgencyOf(op) === 'urgent' ? '1' : '0');
  // Keyed hash of the client: ids from a center's identity provider may name a person.
  const waitingKeyOf = (owner: OperationOwner): string =>
    `${prefix}:waiting:${cipher.blind(`queued-writes\n${owner.tenant}\n${owner.clientId}`)}`;
  const waitingKey = (op: Operation): string => (op.owner === undefined ? '' : waitingKeyOf(op.owner));

  const seal = (op: Operation): Buffer => cipher.seal(JSON.stringify(op), recordKey(op.id));
  const open = (id: string, sealed: Buffer): Operation =>
    JSON.parse(cipher.open(sealed, recordKey(id))) as Operation;

  async function get(id: string): Promise<Operation | undefined> {
    const sealed = await redis.getBuffer(recordKey(id));
    return sealed === null ? undefined : open(id, sealed);
  }

  async function write(op: Operation, expected: OperationStatus | undefined): Promise<boolean> {
    const terminal = TERMINAL_STATUSES.has(op.status);
    const result = await SAVE.run(
      redis,
      [
        recordKey(op.id),
        ...OPERATION_STATUSES.map((s) => statusKey(op.connection, s)),
        idemKey(op),
        waitingKey(op),
        laneUrgentKey(op.lane),
        urgentKey(op.connection),
      ],
      [
        op.id,
        seal(op),
        String(OPERATION_STATUSES.indexOf(op.status) + 1),
        String(expected === undefined ? 0 : OPERATION_STATUSES.indexOf(expected) + 1),
        String(Date.parse(op.createdAt)),
        String(terminal ? options.retentionSeconds : 0),
        options.finalChannel,
      ],
    );
    return result === 1;
  }

  return {
    async insert(op, deadline, insertOptions = {}) {
      let reply: ['created', number, string] | ['exists', string] | ['late', number] | ['quota', number];
      try {
        reply = (await INSERT.run(
          acceptRedis,
          [
            recordKey(op.id),
            idemKey(op),
            statusKey(op.connection, op.status),
            laneKey(op.lane),
            laneSetKey(op.connection),
            waitingKey(op),
            laneUrgentKey(op.lane),
            urgentKey(op.connection),
          ],
          [
            op.id,
            seal(op),
            String(Date.parse(op.createdAt)),
            op.lane,
            String(deadline.getTime()),
            String(insertOptions.queuedWritesCap ?? 0),
            urgentFlag(op),
          ],
        )) as typeof reply;
      } catch (error) {
        if (neverRan(error)) return { refused: 'unavailable' };
        throw error;
      }
      if (reply[0] === 'late') return { refused: 'late', lateByMs: reply[1] };
      if (reply[0] === 'quota') return { refused: 'quota', queuedWrites: reply[1] };
      if (reply[0] === 'created')
        return { operation: op, created: true, lanePosition: reply[1], laneHead: reply[2] };
      const existing = await get(reply[1]);
      // The key outlived its record (retention): treat the request as new under the same key.
      if (existing === undefined) {
        await acceptRedis.del(idemKey(op));
        return this.insert(op, deadline, insertOptions);
      }
      return { operation: existing, created: false, lanePosition: 0 };
    },

    get,

    async findByIdempotencyKey(connection, key) {
      const id = await redis.get(idemKeyFor(connection, key));
      return id === null ? undefined : get(id);
    },

    async save(op) {
      await write(op, undefined);
    },

    saveIf: (op, expected) => write(op, expected),

    async advanceLane(op) {
      const head = (await ADVANCE.run(
        redis,
        [laneKey(op.lane), laneSetKey(op.connection), laneUrgentKey(op.lane), urgentKey(op.connection)],
        [op.id, op.lane],
      )) as string;
      return head === '' ? undefined : head;
    },

    async requeue(op) {
      const position = (await REQUEUE.run(
        redis,
        [laneKey(op.lane), laneSetKey(op.connection), laneUrgentKey(op.lane), urgentKey(op.connection)],
        [op.id, op.lane, urgentFlag(op)],
      )) as number;
      return { lanePosition: position };
    },

    async laneUrgency(lane) {
      return (await redis.scard(laneUrgentKey(lane))) > 0 ? 'urgent' : 'routine';
    },

    async laneHeads(connection) {
      const lanes = await redis.smembers(laneSetKey(connection));
      if (lanes.length === 0) return [];
      const pipeline = redis.pipeline();
      for (const lane of lanes) pipeline.lindex(laneKey(lane), 0);
      const heads = (await pipeline.exec()) ?? [];
      return lanes.flatMap((lane, i) => {
        const head = heads[i]?.[1];
        return typeof head === 'string' ? [{ lane, head }] : [];
      });
    },

    laneCount: (connection) => redis.scard(laneSetKey(connection)),

    async laneOperations(lane, limit) {
      const ids = await redis.lrange(laneKey(lane), 0, limit - 1);
      const ops = await Promise.all(ids.map((id) => get(id)));
      return ops.filter((op): op is Operation => op !== undefined && !TERMINAL_STATUSES.has(op.status));
    },

    async query(query) {
      const key = statusKey(query.connection, query.status);
      const min = query.since ? String(query.since.getTime()) : '-inf';
      // Patient and tenant filtering need the sealed records; read a bounded window and filter.
      const filtered = query.patientId !== undefined || query.tenant !== undefined;
      const window = filtered ? Math.min(5000, query.limit * 20) : query.limit;
      const ids = await redis.zrangebyscore(key, min, '+inf', 'LIMIT', '0', String(window));
      const ops = await Promise.all(ids.map((id) => get(id)));
      const missing = ids.filter((_id, i) => ops[i] === undefined);
      // Records past their retention leave stale index entries behind; drop them as they are met.
      if (missing.length > 0) await redis.zrem(key, ...missing);
      return ops
        .filter((op): op is Operation => op !== undefined)
        .filter((op) => query.patientId === undefined || op.patientId === query.patientId)
        .filter(
          (op) => query.tenant === undefined || op.owner === undefined || op.owner.tenant === query.tenant,
        )
        .slice(0, query.limit);
    },

    count: (connection, status) => redis.zcard(statusKey(connection, status)),

    urgentPending: (connection) => redis.scard(urgentKey(connection)),

    queuedWrites: (owner) => redis.scard(waitingKeyOf(owner)),

    async oldest(connection, status) {
      const first = await redis.zrange(statusKey(connection, status), '0', '0', 'WITHSCORES');
      const score = first[1];
      return score === undefined ? undefined : new Date(Number(score));
    },
  };
}
