/**
 * Listens on the channel every registry publishes a client's id on when it changes, so a key
 * revoked in one process is refused by every other within a moment, not after a cache TTL.
 *
 * ioredis re-subscribes by itself after a reconnect, but reports `ready` before it has; so on
 * every `ready` the listener subscribes again (idempotent) and only then says it is listening.
 * Between a dropped connection and that point, messages may be lost: the owner is told to stop
 * trusting what it cached (`onDeaf`) and to start again from empty (`onListening`).
 */
import type { Redis } from 'ioredis';
import type { Logger } from '../../src/domain/ports';

export interface ClientChangeListenerOptions {
  readonly subscriber: Redis;
  /** True when the listener opened `subscriber` and must quit it on close. */
  readonly owned: boolean;
  readonly channel: string;
  readonly logger: Logger;
  onChange(clientId: string): void;
  onListening(): void;
  onDeaf(): void;
}

export interface ClientChangeListener {
  close(): Promise<void>;
}

export function listenForClientChanges(options: ClientChangeListenerOptions): ClientChangeListener {
  const { subscriber, channel, logger } = options;
  // Bumped whenever the connection drops: a subscription confirmed for an older connection says
  // nothing about the current one.
  let connection = 0;
  let closed = false;

  const subscribe = async (): Promise<void> => {
    const at = connection;
    try {
      await subscriber.subscribe(channel);
    } catch (error) {
      // The next `ready` tries again; until then nothing is cached.
      if (!closed) logger.warn({ err: error }, 'client registry: could not subscribe to client changes');
      return;
    }
    if (!closed && at === connection) options.onListening();
  };
  const onMessage = (from: string, message: string): void => {
    if (from === channel) options.onChange(message);
  };
  const onReady = (): void => {
    void subscribe();
  };
  const onClose = (): void => {
    connection++;
    options.onDeaf();
  };
  const onError = (error: Error): void => {
    logger.warn({ err: error }, 'client registry: subscriber connection error');
  };

  subscriber.on('message', onMessage);
  subscriber.on('ready', onReady);
  subscriber.on('close', onClose);
  if (options.owned) subscriber.on('error', onError);
  void subscribe();

  return {
    async close() {
      if (closed) return;
      closed = true;
      options.onDeaf();
      subscriber.off('message', onMessage);
      subscriber.off('ready', onReady);
      subscriber.off('close', onClose);
      if (subscriber.status === 'ready') {
        await subscriber.unsubscribe(channel).catch(() => undefined);
      }
      if (options.owned) {
        // QUIT waits for a connection that may never come; a connection that is not up just closes.
        if (subscriber.status === 'ready') {
          await subscriber.quit().catch(() => {
            subscriber.disconnect();
          });
        } else {
          subscriber.disconnect();
        }
        subscriber.off('error', onError);
      }
    },
  };
}
