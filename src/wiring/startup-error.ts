/** A start-up that cannot go on, with one sentence saying why (the CLI prints it and exits 1). */
export class StartupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StartupError';
  }
}
