import { retryDelayMs, WRITE_ATTEMPTS } from '../../queue/retry-policy';

describe('write retry policy', () => {
  it('grows exponentially from about a second and is capped at ten minutes', () => {
    const max = () => 1; // jitter at its top
    expect(retryDelayMs(1, undefined, max)).toBe(1000);
    expect(retryDelayMs(2, undefined, max)).toBe(2000);
    expect(retryDelayMs(5, undefined, max)).toBe(16000);
    expect(retryDelayMs(40, undefined, max)).toBe(600000);
  });

  it('jitters between half and all of the delay', () => {
    expect(retryDelayMs(5, undefined, () => 0)).toBe(8000);
  });

  it('waits as long as Retry-After says', () => {
    expect(retryDelayMs(1, 30)).toBe(30000);
  });

  it('rides through a 72-hour outage even with the smallest jitter', () => {
    let total = 0;
    for (let attempt = 1; attempt < WRITE_ATTEMPTS; attempt++)
      total += retryDelayMs(attempt, undefined, () => 0);
    expect(total).toBeGreaterThan(72 * 3600 * 1000);
  });
});
