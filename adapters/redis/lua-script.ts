/**
 * A Lua script sent by its SHA1 (EVALSHA) and loaded on demand. Plain EVAL ships the whole script
 * text with every call and makes Redis hash it again; on the write path that is most of the bytes
 * per command. ioredis's `defineCommand` does the same but mutates the shared client, which is
 * handed to several stores, so this stays a value of its own.
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

export interface LuaScript {
  run(redis: Redis, keys: readonly string[], args: readonly (string | number | Buffer)[]): Promise<unknown>;
}

export function luaScript(source: string): LuaScript {
  const sha = createHash('sha1').update(source).digest('hex');
  return {
    async run(redis, keys, args) {
      try {
        return await redis.evalsha(sha, keys.length, ...keys, ...args);
      } catch (error) {
        // A restarted or flushed Redis forgets loaded scripts; EVAL loads it again.
        if (error instanceof Error && error.message.startsWith('NOSCRIPT'))
          return redis.eval(source, keys.length, ...keys, ...args);
        throw error;
      }
    },
  };
}
