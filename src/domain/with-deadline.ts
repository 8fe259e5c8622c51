import { ContinuumError } from './errors';

/** What a caller is told when `what` missed its deadline: nothing was taken, send it again. */
export function deadlineMissed(what: string): ContinuumError {
  return new ContinuumError('QUEUE_UNAVAILABLE', {
    detail: `${what} did not answer in time`,
    retryAfterSeconds: 2,
  });
}

/**
 * A Redis command can hang for a whole outage even with the offline queue off; an API write must
 * not. Past the deadline the caller gets 503 + Retry-After, and its Idempotency-Key makes the retry
 * safe whether or not the command went through.
 */
export async function withDeadline<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      reject(deadlineMissed(what));
    }, ms);
  });
  try {
    return await Promise.race([work, deadline]);
  } catch (error) {
    if (error instanceof ContinuumError) throw error;
    throw new ContinuumError('QUEUE_UNAVAILABLE', {
      detail: `${what} is unavailable`,
      retryAfterSeconds: 2,
      cause: error,
    });
  } finally {
    clearTimeout(timer);
  }
}
