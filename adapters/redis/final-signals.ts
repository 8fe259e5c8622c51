/**
 * Final-status signals over Redis pub/sub: the operation store publishes an operation's id on one
 * channel when it saves a final status, and each process that has callers waiting keeps one
 * subscriber connection (a connection in subscriber mode can do nothing else) and hands every id
 * heard to the watchers of that id. The connection is opened on the first watch, so worker
 * processes and the CLI, which never wait, never open it.
 */
import type { Redis } from 'ioredis';
import type { FinalSignals, FinalWatch, Logger } from '../../src/domain/ports';
import { withDeadline } from '../../src/domain/with-deadline';

/** The channel final statuses are published on; under the prefix, so gateways sharing a Redis stay apart. */
export function finalStatusChannel(prefix: string): string {
  return `${prefix}:operation-final`;
}

export interface RedisFinalSignalsOptions {
  /** Opens the subscriber connection (its own: subscriber mode takes a connection over). */
  readonly connect: () => Redis;
  readonly channel: string;
  /**
   * How long a watch waits for the subscription on the first use. Past it the watch goes on deaf
   * and its caller finds the final status by reading: slower, never wrong.
   */
  readonly subscribeDeadlineMs: number;
  readonly logger: Logger;
}

export interface RedisFinalSignals extends FinalSignals {
  close(): Promise<void>;
}

interface Listener {
  signal(): void;
}

export function createRedisFinalSignals(options: RedisFinalSignalsOptions): RedisFinalSignals {
  const listeners = new Map<string, Set<Listener>>();
  let subscriber: Redis | undefined;
  let subscribed: Promise<unknown> | undefined;
  let closed = false;

  const subscribe = (): Promise<unknown> => {
    // Once closed, waiters fall back to their re-reads: no connection is opened that nothing closes.
    if (closed) return Promise.reject(new Error('final-status signals are closed'));
    if (subscribed !== undefined) return subscribed;
    const connection = options.connect();
    subscriber = connection;
    connection.on('error', (error: Error) => {
      options.logger.warn({ err: error }, 'redis subscriber connection error');
    });
    connection.on('message', (channel: string, operationId: string) => {
      if (channel !== options.channel) return;
      for (const listener of listeners.get(operationId) ?? []) listener.signal();
    });
    subscribed = connection.subscribe(options.channel);
    // A refused subscription (an ACL, a Redis restarting) is asked again by the next waiter.
    subscribed.catch(() => {
      if (subscriber === connection) {
        subscribed = undefined;
        subscriber = undefined;
        connection.disconnect();
      }
    });
    return subscribed;
  };

  return {
    async watch(operationId) {
      let heard = false;
      let wake: ((signalled: boolean) => void) | undefined;
      const listener: Listener = {
        signal() {
          heard = true;
          wake?.(true);
        },
      };
      let set = listeners.get(operationId);
      if (set === undefined) {
        set = new Set();
        listeners.set(operationId, set);
      }
      set.add(listener);
      await withDeadline(subscribe(), options.subscribeDeadlineMs, 'the final-status subscription').catch(
        (error: unknown) => {
          options.logger.warn({ err: error, operationId }, 'waiting without final-status signals');
        },
      );
      const watch: FinalWatch = {
        next(ms) {
          if (heard) {
            heard = false;
            return Promise.resolve(true);
          }
          return new Promise<boolean>((resolve) => {
            const timer = setTimeout(() => {
              finish(false);
            }, ms);
            function finish(signalled: boolean): void {
              clearTimeout(timer);
              wake = undefined;
              heard = false;
              resolve(signalled);
            }
            wake = finish;
          });
        },
        stop() {
          const current = listeners.get(operationId);
          current?.delete(listener);
          if (current?.size === 0) listeners.delete(operationId);
          wake?.(false);
        },
      };
      return watch;
    },

    async close() {
      closed = true;
      const connection = subscriber;
      if (connection === undefined) return;
      await connection.quit().catch(() => {
        connection.disconnect();
      });
    },
  };
}
