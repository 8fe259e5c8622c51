/**
 * Runs tasks one at a time, in arrival order.
 *
 * The in-memory engine awaits between "search" and "write" inside conditional creates, If-Match checks and
 * transactions, so two concurrent requests could interleave there (two conditional creates both seeing zero
 * matches). A database-backed EHR isolates those; serialising requests gives the sandbox the same guarantee.
 * Throughput does not suffer: the engine is CPU-bound on one thread anyway.
 */
export class SerialExecutor {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task);
    this.tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }
}
