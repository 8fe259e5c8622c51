/**
 * A call's deadline is one budget: the wait for an access token, the first try, the renewal after a
 * 401 and the retry all come out of it, so an IVR waiting on a read is not kept four deadlines long.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { withEhrToken, type EhrAttempt } from '../../adapters/ehr/fhir-r4/with-ehr-token';
import { ContinuumError } from '../../src/domain/errors';
import type { EhrTokenProvider } from '../../src/domain/ehr-sign-in';

/** A token source whose token endpoint takes `ms` each time, as a slow one does. */
function slowTokens(ms: number): EhrTokenProvider {
  let n = 0;
  return {
    token: async () => {
      await sleep(ms);
      return `token-${++n}`;
    },
    renew: async () => {
      await sleep(ms);
      return `token-${++n}`;
    },
  };
}

it('gives each try only what is left of the deadline after waiting for tokens', async () => {
  const attempts: EhrAttempt[] = [];
  const result = await withEhrToken({
    tokens: slowTokens(200),
    connection: 'ehr',
    deadlineMs: 2000,
    run: (attempt) => {
      attempts.push(attempt);
      if (attempts.length === 1) {
        return Promise.reject(new ContinuumError('EHR_CREDENTIALS_REJECTED', { extra: { ehrStatus: 401 } }));
      }
      return Promise.resolve('answered');
    },
    normalize: (error) => error as ContinuumError,
  });
  expect(result).toBe('answered');
  expect(attempts.map((a) => a.auth.authorization)).toEqual(['Bearer token-1', 'Bearer token-2']);
  const [first, second] = attempts;
  // At least one token wait (200 ms) came out of the first try's budget, two out of the retry's.
  expect(first?.deadlineMs).toBeLessThanOrEqual(1800);
  expect(second?.deadlineMs).toBeLessThanOrEqual(1600);
  expect(second?.deadlineMs).toBeGreaterThan(0);
});

it('gives the whole deadline to a call with static credentials', async () => {
  const attempts: EhrAttempt[] = [];
  await withEhrToken({
    tokens: undefined,
    connection: 'ehr',
    deadlineMs: 2500,
    run: (attempt) => {
      attempts.push(attempt);
      return Promise.resolve(1);
    },
    normalize: (error) => error as ContinuumError,
  });
  expect(attempts[0]?.auth).toEqual({});
  expect(attempts[0]?.deadlineMs).toBeGreaterThan(2400);
});
