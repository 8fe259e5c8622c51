/**
 * One ordered list of what a gateway must close, used both when start-up fails half-way and at a
 * graceful stop, so the two cannot drift apart. Phases run in order (no new work first, Redis
 * last); within a phase, the last registered closes first. A failing step is logged and the
 * rest still run.
 */
import type { Logger } from '../domain/ports';

export const CLOSE_PHASES = [
  /** Stop taking work: HTTP, timers, operator replays. */
  'intake',
  /** Let work in progress finish: warm-ups, then workers (their in-flight jobs). */
  'work',
  /** Producers: write, notification and event queues. */
  'queues',
  /** The in-process sandbox EHR. */
  'ehr',
  'redis',
  'embedded-redis',
] as const;
export type ClosePhase = (typeof CLOSE_PHASES)[number];

interface Entry {
  readonly phase: ClosePhase;
  readonly name: string;
  readonly close: () => Promise<unknown>;
}

export class Closeables {
  private readonly entries: Entry[] = [];
  private closing: Promise<void> | undefined;

  constructor(private readonly logger: Logger) {}

  add(phase: ClosePhase, name: string, close: () => Promise<unknown>): void {
    this.entries.push({ phase, name, close });
  }

  /** The steps in the order `closeAll` runs them: for tests and logs. */
  order(): string[] {
    return this.ordered().map((e) => e.name);
  }

  /** Closes everything once; a second call waits for the first. */
  closeAll(): Promise<void> {
    this.closing ??= this.run();
    return this.closing;
  }

  private ordered(): Entry[] {
    return CLOSE_PHASES.flatMap((phase) => this.entries.filter((e) => e.phase === phase).reverse());
  }

  private async run(): Promise<void> {
    for (const entry of this.ordered()) {
      await entry.close().catch((error: unknown) => {
        this.logger.error({ err: error, step: entry.name }, 'error during shutdown');
      });
    }
  }
}
