/**
 * Checks every stream's chain and trims what is past retention. A stream verifies when each
 * record's link matches its content and the link before it, its first record follows the anchor
 * (the last record trimmed, or the start), and its last record is the head the writer noted.
 * Trimming is by entry id, that is by time (XTRIM MINID), never by count, and moves the anchor in
 * the same MULTI so a trimmed stream still verifies.
 */
import type { Redis } from 'ioredis';
import type { AuditChainProblem, AuditVerification } from '../../src/domain/audit';
import { GENESIS, type AuditChain } from './audit-chain';
import { entryField, type StreamEntry } from './audit-entry';
import type { AuditKeys } from './audit-keys';

export interface AuditVerifierOptions {
  readonly redis: Redis;
  readonly keys: AuditKeys;
  readonly chain: AuditChain;
  readonly retentionMs: number;
}

export interface AuditVerifier {
  verify(): Promise<AuditVerification>;
  trim(): Promise<number>;
}

const PAGE = 1000;

export function createAuditVerifier(options: AuditVerifierOptions): AuditVerifier {
  const { redis, keys, chain } = options;

  async function verifyStream(
    name: string,
  ): Promise<{ readonly records: number; readonly problem?: AuditChainProblem }> {
    const [anchor, head] = await Promise.all([redis.get(keys.anchor(name)), redis.hgetall(keys.head(name))]);
    let expected = anchor ?? GENESIS;
    let previousId = anchor === null ? 'the start of the stream' : 'the last record trimmed';
    let after = '-';
    let records = 0;
    const problem = (entry: string, kind: AuditChainProblem['problem'], detail: string) => ({
      records,
      problem: { stream: name, entry, problem: kind, detail },
    });
    for (;;) {
      const page = (await redis.xrange(keys.stream(name), after, '+', 'COUNT', PAGE)) as StreamEntry[];
      for (const [id, fields] of page) {
        const stored = entryField(fields, 'r');
        const prev = entryField(fields, 'p');
        const link = entryField(fields, 'h');
        if (stored === undefined || prev === undefined || link === undefined) {
          return problem(id, 'unreadable', `record ${id} lacks its content or its links`);
        }
        if (prev !== expected) {
          return problem(id, 'missing-before', `records between ${previousId} and ${id} are missing`);
        }
        if (!chain.matches(prev, stored, link)) {
          return problem(id, 'changed', `record ${id} was changed after it was written`);
        }
        expected = link;
        previousId = id;
        records++;
      }
      const lastEntry = page.at(-1);
      if (page.length < PAGE || lastEntry === undefined) break;
      after = `(${lastEntry[0]}`;
    }
    if (head.h !== undefined && head.h !== expected) {
      return problem(
        head.id ?? 'unknown',
        'missing-before',
        `records after ${previousId} up to ${head.id ?? 'the last one written'} are missing`,
      );
    }
    return { records };
  }

  return {
    async verify() {
      const streams = await redis.zrange(keys.registry, '0', '-1');
      let records = 0;
      const problems: AuditChainProblem[] = [];
      for (const name of streams) {
        const result = await verifyStream(name);
        records += result.records;
        if (result.problem !== undefined) problems.push(result.problem);
      }
      return { streams: streams.length, records, problems };
    },

    async trim() {
      const cutoff = Date.now() - options.retentionMs;
      let removed = 0;
      for (const name of await redis.zrange(keys.registry, '0', '-1')) {
        const stream = keys.stream(name);
        const lastOld = ((await redis.xrevrange(stream, `(${cutoff}`, '-', 'COUNT', 1)) as StreamEntry[])[0];
        if (lastOld === undefined) continue;
        const link = entryField(lastOld[1], 'h');
        if (link === undefined) continue;
        const multi = redis.multi().set(keys.anchor(name), link).xtrim(stream, 'MINID', cutoff);
        const results = await multi.exec();
        removed += Number(results?.[1]?.[1] ?? 0);
      }
      let cursor = '0';
      do {
        const [next, found] = await redis.scan(cursor, 'MATCH', keys.indexPattern, 'COUNT', 500);
        cursor = next;
        for (const key of found) await redis.zremrangebyscore(key, '-inf', `(${cutoff}`);
      } while (cursor !== '0');
      return removed;
    },
  };
}
