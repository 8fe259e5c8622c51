/**
 * (e) Two agents correcting one patient at once: many concurrent PATCHes, to different fields
 * (email, phones) and to the same field (email), some carrying `If-Match` of the version the agent
 * read. No silent overwrite: each write either succeeds in its lane's order, or ends `needs-review`
 * with a diff because a field it changes was changed after the version its agent read; the EHR's
 * final state is what the succeeded writes, applied in lane order, make of the record.
 *
 * The writes are accepted by an API process while no worker runs, so the lane (the acceptance
 * order Continuum promises to keep) can be read from Redis before a worker starts applying it.
 */
import {
  call,
  drainedReceipts,
  FaultRig,
  patientId,
  printResult,
  resultLine,
  type AofRedis,
  type GatewayProcess,
  type SandboxProcess,
} from '../support/fault-harness';
import { history } from '../support/pipeline';

const PER_AGENT = 14;

let rig: FaultRig;
let redis: AofRedis;
let sandbox: SandboxProcess;
let api: GatewayProcess;

beforeAll(async () => {
  rig = new FaultRig('two-agents');
  redis = await rig.redis();
  sandbox = await rig.sandbox();
  api = await rig.gateway({ role: 'api', redis, sandbox });
});
afterAll(async () => {
  await rig.close();
});

interface Fields {
  email: string | undefined;
  phones: string;
}

/** The call-center fields of a FHIR Patient version, as comparable text. */
function fieldsOf(patient: any): Fields {
  const current = ((patient.telecom ?? []) as any[]).filter((t) => t.period?.end === undefined);
  return {
    email: current.find((t) => t.system === 'email')?.value,
    phones: current
      .filter((t) => t.system === 'phone')
      .map((t) =>
        String(t.value)
          .replace(/\D/g, '')
          .replace(/^1(\d{10})$/, '$1'),
      )
      .join(','),
  };
}

interface Write {
  readonly agent: 'A' | 'B';
  readonly change: { email?: string; phones?: string[] };
  readonly ifMatch: string | undefined;
  operationId?: string;
}

it('never silently overwrites: two agents writing one patient at once end in lane order or in review', async () => {
  const id = patientId(100);
  const seen = await call('GET', `${api.url}/v1/patients/${id}`);
  expect(seen.status).toBe(200);
  const etag = seen.headers.get('etag')!;
  const baseVersion = /"(.+)"/.exec(etag)![1]!;

  // Agent A corrects the email; agent B the phone and, now and then, the email too. Every third
  // write of each carries If-Match of the version its agent read.
  const writes: Write[] = [];
  for (let k = 0; k < PER_AGENT; k++) {
    writes.push({
      agent: 'A',
      change: { email: `agent-a-${k}@example.org` },
      ifMatch: k % 3 === 0 ? etag : undefined,
    });
    writes.push({
      agent: 'B',
      change:
        k % 2 === 0 ? { phones: [`+1 617 555 01${String(10 + k)}`] } : { email: `agent-b-${k}@example.org` },
      ifMatch: k % 3 === 1 ? etag : undefined,
    });
  }
  const answers = await Promise.all(
    writes.map((w, i) =>
      call('PATCH', `${api.url}/v1/patients/${id}`, {
        body: w.change,
        headers: { 'idempotency-key': `${rig.prefix}-${i}`, ...(w.ifMatch ? { 'if-match': w.ifMatch } : {}) },
      }),
    ),
  );
  for (const [i, a] of answers.entries()) {
    expect(a.status).toBe(202);
    writes[i]!.operationId = a.body.operationId;
  }
  const byOperation = new Map(writes.map((w) => [w.operationId!, w]));
  const lane = await rig.laneOrder(rig.redisClient(redis), id);
  expect([...lane].sort()).toEqual([...byOperation.keys()].sort());

  await rig.gateway({ role: 'worker', redis, sandbox });
  const receipts = new Map(
    (await drainedReceipts(api.url, lane, 90000)).map((r) => [r.operationId as string, r]),
  );

  // The EHR's versions from the one both agents read.
  const versions = (await history(sandbox.fhirBase, `Patient/${id}`)).filter(
    (v) => Number(v.meta.versionId) >= Number(baseVersion),
  );
  expect(versions[0].meta.versionId).toBe(baseVersion);
  const base = fieldsOf(versions[0]);

  // Which write each later version applied (every requested value is unique).
  const valueOf = (w: Write): Partial<Fields> =>
    w.change.email !== undefined
      ? { email: w.change.email }
      : { phones: w.change.phones!.map((p) => p.replace(/\D/g, '').replace(/^1(\d{10})$/, '$1')).join(',') };
  const applied: string[] = [];
  for (let i = 1; i < versions.length; i++) {
    const before = fieldsOf(versions[i - 1]);
    const after = fieldsOf(versions[i]);
    const match = lane.find((opId) => {
      const v = valueOf(byOperation.get(opId)!);
      return v.email !== undefined
        ? v.email === after.email && v.email !== before.email
        : v.phones === after.phones && v.phones !== before.phones;
    });
    applied.push(match ?? `unknown version ${String(versions[i].meta.versionId)}`);
  }

  // Replay the lane: succeeded writes change the model; a needs-review write must be one whose
  // field changed after its agent's version (else it should have been re-based and applied).
  let model: Fields = { ...base };
  const expected: string[] = [];
  const problems: string[] = [];
  for (const opId of lane) {
    const w = byOperation.get(opId)!;
    const r = receipts.get(opId);
    const fields = Object.keys(w.change) as (keyof Fields)[];
    const changedSinceRead = w.ifMatch !== undefined && fields.some((f) => model[f] !== base[f]);
    if (r.status === 'succeeded') {
      if (changedSinceRead)
        problems.push(`${opId} overwrote ${fields.join(',')} changed after If-Match ${w.ifMatch}`);
      model = { ...model, ...valueOf(w) };
      expected.push(opId);
    } else if (r.status === 'needs-review') {
      if (!changedSinceRead) problems.push(`${opId} sent to review though nothing it changes had moved`);
      if (!(r.review?.fields?.length > 0)) problems.push(`${opId} is in review without a diff`);
    } else {
      problems.push(`${opId} ended ${String(r.status)}`);
    }
  }

  const appliedSet = new Set(applied);
  const lost = expected.filter((opId) => !appliedSet.has(opId)).length;
  const duplicated = [...appliedSet].filter((opId) => applied.filter((a) => a === opId).length > 1).length;
  // Out of order: a write applied (first or again) after a write that comes later in the lane.
  const outOfOrder = expected.filter((opId) => {
    const lastAt = applied.lastIndexOf(opId);
    return (
      lastAt >= 0 &&
      expected.slice(expected.indexOf(opId) + 1).some((later) => {
        const laterAt = applied.indexOf(later);
        return laterAt >= 0 && laterAt < lastAt;
      })
    );
  }).length;
  const unexpected = [...appliedSet].filter((opId) => !expected.includes(opId));

  const reviewed = lane.filter((opId) => receipts.get(opId).status === 'needs-review').length;
  expect({ lost, duplicated, outOfOrder, unexpected, problems }).toEqual({
    lost: 0,
    duplicated: 0,
    outOfOrder: 0,
    unexpected: [],
    problems: [],
  });
  // Both outcomes occurred: some stale If-Match writes were re-based, some went to review.
  expect(reviewed).toBeGreaterThan(0);
  expect(expected.length).toBeGreaterThan(PER_AGENT);
  expect(fieldsOf(versions[versions.length - 1])).toEqual(model);

  // Round two, with the worker applying writes while the agents read and write: each agent has
  // three tabs open, each reading the record and sending a change with If-Match of what it read.
  const live = await liveRound(id);
  const counts = {
    accepted: lane.length + live.accepted,
    lost: lost + live.lost,
    duplicated: duplicated + live.duplicated,
    outOfOrder: outOfOrder + live.outOfOrder,
  };
  printResult(resultLine('(e) two agents updating one patient at once', counts));
  expect(live.problems).toEqual([]);
  expect(counts).toEqual({ accepted: 2 * PER_AGENT + 6 * TAB_WRITES, lost: 0, duplicated: 0, outOfOrder: 0 });
});

const TAB_WRITES = 4;

interface LiveWrite {
  readonly change: { email?: string; phones?: string[] };
  readonly value: Partial<Fields>;
  readonly baseVersion: string | undefined;
  readonly sentAt: number;
  readonly ackAt: number;
  readonly operationId: string;
}

/**
 * Agents read and write while the worker applies: the order Continuum promises is checked against
 * real time (a write acknowledged before another was sent must be applied first), and each
 * succeeded If-Match write against the versions between the one its agent read and the one it
 * replaced.
 */
async function liveRound(
  id: string,
): Promise<{ accepted: number; lost: number; duplicated: number; outOfOrder: number; problems: string[] }> {
  const startVersion = Number((await history(sandbox.fhirBase, `Patient/${id}`)).at(-1).meta.versionId);
  const writes: LiveWrite[] = [];
  await Promise.all(
    Array.from({ length: 6 }, async (_v, tab) => {
      const agent = tab < 3 ? 'a' : 'b';
      for (let k = 0; k < TAB_WRITES; k++) {
        const read = await call('GET', `${api.url}/v1/patients/${id}`);
        const etag = read.headers.get('etag') ?? undefined;
        const useIfMatch = k % 2 === 0;
        const sameField = agent === 'a' || k % 2 === 1;
        const change = sameField
          ? { email: `live-${agent}${tab}-${k}@example.org` }
          : { phones: [`+1 978 555 01${String(10 + tab * TAB_WRITES + k)}`] };
        const value: Partial<Fields> =
          change.email !== undefined
            ? { email: change.email }
            : { phones: `97855501${String(10 + tab * TAB_WRITES + k)}` };
        const sentAt = performance.now();
        const res = await call('PATCH', `${api.url}/v1/patients/${id}`, {
          body: change,
          headers: {
            'idempotency-key': `${rig.prefix}-live-${tab}-${k}`,
            ...(useIfMatch && etag ? { 'if-match': etag } : {}),
          },
        });
        expect(res.status).toBe(202);
        writes.push({
          change,
          value,
          baseVersion: useIfMatch && etag ? /"(.+)"/.exec(etag)![1] : undefined,
          sentAt,
          ackAt: performance.now(),
          operationId: res.body.operationId,
        });
      }
    }),
  );
  const receipts = new Map(
    (
      await drainedReceipts(
        api.url,
        writes.map((w) => w.operationId),
        90000,
      )
    ).map((r) => [r.operationId as string, r]),
  );
  const all = await history(sandbox.fhirBase, `Patient/${id}`);
  const fieldsAt = new Map(all.map((v) => [Number(v.meta.versionId), fieldsOf(v)]));
  const problems: string[] = [];
  // Version -> the write it applied.
  const appliedBy = new Map<number, LiveWrite>();
  let unknown = 0;
  for (const v of all.map((x) => Number(x.meta.versionId)).filter((n) => n > startVersion)) {
    const before = fieldsAt.get(v - 1)!;
    const after = fieldsAt.get(v)!;
    const w = writes.find((x) =>
      x.value.email !== undefined
        ? x.value.email === after.email && x.value.email !== before.email
        : x.value.phones === after.phones && x.value.phones !== before.phones,
    );
    if (w) appliedBy.set(v, w);
    else unknown++;
  }
  if (unknown > 0) problems.push(`${unknown} versions applied no accepted write`);
  let lost = 0;
  let duplicated = 0;
  const versionsOf = new Map<string, number[]>();
  for (const w of writes) {
    const r = receipts.get(w.operationId);
    const at = [...appliedBy.entries()].filter(([, x]) => x === w).map(([v]) => v);
    if (r.status === 'succeeded') {
      if (at.length === 0) lost++;
      if (at.length > 1) duplicated++;
      versionsOf.set(w.operationId, at);
      const fields = Object.keys(w.value) as (keyof Fields)[];
      const read = w.baseVersion !== undefined ? fieldsAt.get(Number(w.baseVersion)) : undefined;
      for (const v of at) {
        const replaced = fieldsAt.get(v - 1);
        if (read && replaced && fields.some((f) => read[f] !== replaced[f])) {
          problems.push(`${w.operationId} overwrote a change made after the version its agent read`);
        }
      }
    } else if (r.status === 'needs-review') {
      if (at.length > 0) problems.push(`${w.operationId} is in review but was applied`);
      if (w.baseVersion === undefined) problems.push(`${w.operationId} in review without If-Match`);
      if (!(r.review?.fields?.length > 0)) problems.push(`${w.operationId} is in review without a diff`);
    } else {
      problems.push(`${w.operationId} ended ${String(r.status)}`);
    }
  }
  // Out of order: a write applied (first or again) after a write accepted after it was acknowledged.
  const outOfOrder = writes.filter((x) => {
    const xLast = versionsOf.get(x.operationId)?.at(-1);
    return (
      xLast !== undefined &&
      writes.some((y) => {
        const yFirst = versionsOf.get(y.operationId)?.[0];
        return x.ackAt < y.sentAt && yFirst !== undefined && yFirst < xLast;
      })
    );
  }).length;
  // The final record holds, per field, the value of the last write applied to it.
  const last = fieldsAt.get(Math.max(...fieldsAt.keys()))!;
  for (const f of ['email', 'phones'] as const) {
    const lastWriter = [...appliedBy.entries()]
      .filter(([, w]) => w.value[f] !== undefined)
      .sort(([a], [b]) => b - a)[0];
    if (lastWriter && lastWriter[1].value[f] !== last[f]) problems.push(`final ${f} is not the last write's`);
  }
  return { accepted: writes.length, lost, duplicated, outOfOrder, problems };
}
