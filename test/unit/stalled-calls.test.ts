/**
 * The stall rule on its own: calls in flight past the stall time while the EHR answers nothing make
 * one stall; an answer, even an error status, is a sign of life; a timeout is not; too few calls in
 * flight never stall. The EHR here is a stand-in whose calls settle when the test says.
 */
import { watchForStalls } from '../../adapters/ehr/stalled-calls';
import { ContinuumError } from '../../src/domain/errors';
import type { EhrClient } from '../../src/domain/ports';
import { waitFor } from '../support/wait-for';

interface Pending {
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

function standInEhr(): { ehr: EhrClient; pending: Pending[] } {
  const pending: Pending[] = [];
  const ehr = {
    connection: 'test',
    read: () =>
      new Promise((resolve, reject) => {
        pending.push({ resolve, reject });
      }),
  } as unknown as EhrClient;
  return { ehr, pending };
}

const STALL_MS = 100;
const timedOut = (): ContinuumError =>
  new ContinuumError('EHR_UNAVAILABLE', { detail: 'no answer in time', extra: { timeout: true } });

function watch(ehr: EhrClient, stalls: number[]): EhrClient {
  return watchForStalls(ehr, {
    stalledCalls: 3,
    stallAfterMs: STALL_MS,
    onStall: (stalled) => stalls.push(stalled),
  });
}

/** Settles every call still pending, so no timer of the watch outlives the test. */
function settleAll(pending: Pending[]): void {
  for (const call of pending.splice(0)) call.reject(timedOut());
}

it('counts three calls stalled on a silent EHR as one stall, while they are still in flight', async () => {
  const { ehr, pending } = standInEhr();
  const stalls: number[] = [];
  const watched = watch(ehr, stalls);
  const calls = [1, 2, 3].map((n) => watched.read('Patient', `p${n}`).catch(() => 'gave up'));
  await waitFor(() => Promise.resolve(stalls.length > 0 ? true : undefined), { what: 'a stall' });
  expect(stalls).toEqual([3]);
  expect(pending).toHaveLength(3);
  settleAll(pending);
  expect(await Promise.all(calls)).toEqual(['gave up', 'gave up', 'gave up']);
  expect(stalls).toEqual([3]);
});

/** Resolves once `ms` have passed: the stand-in EHR's silence, measured with a deadline poll. */
async function silenceOf(ms: number): Promise<void> {
  const started = Date.now();
  await waitFor(() => Promise.resolve(Date.now() - started >= ms ? true : undefined), { intervalMs: 10 });
}

it('never stalls on two calls in flight: too few', async () => {
  const { ehr, pending } = standInEhr();
  const stalls: number[] = [];
  const watched = watch(ehr, stalls);
  const slow = [1, 2].map((n) => watched.read('Patient', `p${n}`).catch(() => undefined));
  await silenceOf(3 * STALL_MS);
  expect(stalls).toEqual([]);
  settleAll(pending);
  await Promise.all(slow);
});

it('takes an error status as a sign of life: an EHR that keeps answering does not stall', async () => {
  const { ehr, pending } = standInEhr();
  const stalls: number[] = [];
  const watched = watch(ehr, stalls);
  const slow = [1, 2, 3].map((n) => watched.read('Patient', `p${n}`).catch(() => undefined));
  // Meanwhile other calls keep getting answers (404s), each well within the stall time.
  for (let n = 0; n < 8; n++) {
    const answered = watched.read('Patient', `q${n}`).catch(() => undefined);
    pending[pending.length - 1]?.reject(new ContinuumError('NOT_FOUND', { extra: { ehrStatus: 404 } }));
    await answered;
    await silenceOf(STALL_MS / 2);
  }
  expect(stalls).toEqual([]);
  settleAll(pending);
  await Promise.all(slow);
});

it('does not take a timeout as an answer: the silence goes on', async () => {
  const { ehr, pending } = standInEhr();
  const stalls: number[] = [];
  const watched = watch(ehr, stalls);
  const first = watched.read('Patient', 'p0').catch(() => undefined);
  pending[0]?.reject(timedOut());
  await first;
  const calls = [1, 2, 3].map((n) => watched.read('Patient', `p${n}`).catch(() => undefined));
  await waitFor(() => Promise.resolve(stalls.length > 0 ? true : undefined), { what: 'a stall' });
  expect(stalls).toEqual([3]);
  settleAll(pending);
  await Promise.all(calls);
});
