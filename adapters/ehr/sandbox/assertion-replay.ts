/**
 * The `jti` of every client assertion accepted, kept while that assertion could still be presented
 * (until its `exp`), so the same signed assertion cannot buy a second token.
 */
export class AssertionReplay {
  private readonly seen = new Map<string, number>();

  constructor(private readonly now: () => number) {}

  /** Records the id; false when it was already seen and its assertion has not expired yet. */
  firstUse(clientId: string, jti: string, expiresAtMs: number): boolean {
    const now = this.now();
    for (const [key, until] of this.seen) {
      if (until <= now) this.seen.delete(key);
    }
    const key = `${clientId}\u0000${jti}`;
    if (this.seen.has(key)) return false;
    this.seen.set(key, expiresAtMs);
    return true;
  }
}
