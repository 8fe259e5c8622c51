/**
 * A right birth date and a wrong one take the same work: 500 of each for the same patient,
 * interleaved, from a client whose limits never trip, answer with medians less than 0.2 ms apart
 * (the one timed assertion the suite allows: a difference of medians, not a speed).
 */
import { http } from '../support/http';
import { startTestGateway, type TestGateway } from '../support/test-gateway';

const SAMPLES = 500;
const WARM_UP = 50;
let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway({
    overrides: {
      sandbox: { enabled: true, patientCount: 220 },
      verify: {
        maxFailedAttempts: 1000,
        patientHold: { maxFailedAttempts: 100_000, windowSeconds: 900, holdSeconds: 1 },
      },
      // Thousands of checks from one client: above its verification budget, which is not measured here.
      limits: { budgets: { verify: 1_000_000 } },
    },
  });
});
afterAll(async () => {
  await gw.stop();
});

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

/** Wrong birth dates: distinct days before the right one, never the right one. */
function wrongDate(right: string, i: number): string {
  return new Date(Date.parse(`${right}T00:00:00Z`) - (i + 1) * 86_400_000).toISOString().slice(0, 10);
}

async function timed(
  body: Record<string, unknown>,
): Promise<{ ms: number; verified: unknown; status: number }> {
  const start = process.hrtime.bigint();
  const res = await http('POST', `${gw.url}/v1/patients/verify`, { body });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  return { ms, verified: res.body.verified, status: res.status };
}

/**
 * One round: SAMPLES right and SAMPLES wrong answers, interleaved in pairs in random order, after a
 * warm-up. Returns the difference of medians, in ms.
 */
async function round(
  claim: Record<string, unknown>,
  right: string,
  label: string,
  offset: number,
): Promise<number> {
  const times = { right: [] as number[], wrong: [] as number[] };
  // Distinct callers: no caller limit comes near.
  const caller = (n: number) => `+1617${String(5_560_000 + offset + n).padStart(7, '0')}`;
  for (let i = -WARM_UP; i < SAMPLES; i++) {
    const n = 2 * (i + WARM_UP);
    const pair = [
      ['right', right, caller(n)],
      ['wrong', wrongDate(right, (offset + n) % 20_000), caller(n + 1)],
    ] as const;
    // Random order within each pair, not a strict alternation: R W W R R W... has period four, and
    // anything periodic in the gateway (a timer, a batch) can lock onto it and load one kind only.
    for (const [kind, birthDate, callerId] of Math.random() < 0.5 ? pair : [...pair].reverse()) {
      const answer = await timed({ ...claim, birthDate, callerId });
      expect({ kind, status: answer.status, verified: answer.verified }).toEqual({
        kind,
        status: 200,
        verified: kind === 'right',
      });
      if (i >= 0) times[kind].push(answer.ms);
    }
  }
  expect(times.right).toHaveLength(SAMPLES);
  expect(times.wrong).toHaveLength(SAMPLES);
  const [r, w] = [median(times.right), median(times.wrong)];
  const difference = Math.abs(r - w);
  console.log(
    `timing (${label}): median right ${r.toFixed(3)} ms, wrong ${w.toFixed(3)} ms, ` +
      `difference ${difference.toFixed(3)} ms (${SAMPLES} samples each)`,
  );
  return difference;
}

/**
 * The machine that runs the suite is shared: a busy neighbour moves a median by a few tenths of a
 * millisecond either way, so a round over the bound is measured again, up to ROUNDS times. A real
 * difference shows in every round (before equal work: 1.1 ms named, 3.1 ms searched).
 */
const ROUNDS = 5;

it.each([
  ['the patient on the agent screen (patientId)', true],
  ['a search by family name', false],
])(
  'answers right and wrong birth dates in the same time: %s',
  async (label, named) => {
    const patient = (await http('GET', `${gw.fhirBase}/Patient/pat-0001`)).body;
    const right = patient.birthDate as string;
    const claim = {
      family: patient.name[0].family as string,
      ...(named ? { patientId: 'pat-0001' } : {}),
    };
    const differences: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      differences.push(await round(claim, right, label, (named ? 0 : 500_000) + r * 100_000));
      if ((differences.at(-1) ?? Infinity) < 0.2) break;
    }
    expect(Math.min(...differences)).toBeLessThan(0.2);
    // Up to five rounds of a thousand answers on a busy machine take longer than the suite default.
  },
  300_000,
);
