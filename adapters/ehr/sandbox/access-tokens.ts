import { randomBytes } from 'node:crypto';

interface Issued {
  readonly expiresAt: number;
  readonly scope: string;
}

/**
 * The sandbox's issued access tokens: opaque random strings kept in memory with their expiry, as
 * the tokens of many EHRs are (nothing in them to decode; only the issuer can say if one is valid).
 */
export class AccessTokens {
  private readonly issued = new Map<string, Issued>();

  constructor(
    private readonly now: () => number,
    /** A client asking for a token per request must not grow the sandbox's memory without end. */
    private readonly maxTokens = 10_000,
  ) {}

  /** A new token; past `maxTokens` live ones, the oldest is forgotten (its holder gets a 401). */
  issue(lifetimeSeconds: number, scope: string): string {
    this.prune();
    // Maps iterate in insertion order: the first key is the oldest token.
    const oldest = this.issued.size >= this.maxTokens ? this.issued.keys().next().value : undefined;
    if (oldest !== undefined) this.issued.delete(oldest);
    const token = randomBytes(32).toString('base64url');
    this.issued.set(token, { expiresAt: this.now() + lifetimeSeconds * 1000, scope });
    return token;
  }

  /** The token's grant while it is valid; undefined once expired, invalidated or never issued. */
  check(token: string): Issued | undefined {
    const found = this.issued.get(token);
    if (found === undefined) return undefined;
    if (found.expiresAt <= this.now()) {
      this.issued.delete(token);
      return undefined;
    }
    return found;
  }

  /** Forgets every token: each client learns it on its next request (401). */
  invalidateAll(): number {
    const count = this.active();
    this.issued.clear();
    return count;
  }

  active(): number {
    this.prune();
    return this.issued.size;
  }

  private prune(): void {
    const now = this.now();
    for (const [token, { expiresAt }] of this.issued) {
      if (expiresAt <= now) this.issued.delete(token);
    }
  }
}
