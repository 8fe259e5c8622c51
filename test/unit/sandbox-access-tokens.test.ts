import { AccessTokens } from '../../adapters/ehr/sandbox/access-tokens';

describe('the sandbox access tokens', () => {
  it('are valid for their lifetime and not a millisecond longer', () => {
    let now = 1_000_000;
    const tokens = new AccessTokens(() => now);
    const token = tokens.issue(5, 'system/*.rs');
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    now += 4_999;
    expect(tokens.check(token)).toEqual({ expiresAt: 1_005_000, scope: 'system/*.rs' });
    now += 1;
    expect(tokens.check(token)).toBeUndefined();
    expect(tokens.active()).toBe(0);
  });

  it('keep at most their cap, forgetting the oldest first', () => {
    const tokens = new AccessTokens(() => 0, 3);
    const issued = [1, 2, 3, 4].map(() => tokens.issue(60, 's'));
    expect(tokens.active()).toBe(3);
    expect(tokens.check(issued[0] ?? '')).toBeUndefined();
    expect(issued.slice(1).every((t) => tokens.check(t) !== undefined)).toBe(true);
  });

  it('are all forgotten when invalidated', () => {
    const tokens = new AccessTokens(() => 0);
    const token = tokens.issue(60, 's');
    expect(tokens.invalidateAll()).toBe(1);
    expect(tokens.check(token)).toBeUndefined();
  });
});
