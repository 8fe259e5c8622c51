/**
 * The README tour ("A five-minute tour" and "A whole call") against a gateway with the default
 * sandbox, as a newcomer runs it with the admin key: each real answer must have a documented
 * status, and its body must validate against the schema /openapi.json gives for it.
 */
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { DEFAULT_PATIENT_COUNT } from '../../adapters/ehr/sandbox/seed';
import { openApiPath } from '../../src/http/openapi/build-document';
import { servedRoutes } from '../../src/http/openapi/served-routes';
import { routeMatcher } from '../../src/http/route-table';
import { http, type JsonResponse } from '../support/http';
import { startTestGateway, type TestGateway } from '../support/test-gateway';

type Doc = {
  paths: Record<
    string,
    Record<string, { responses: Record<string, { content?: Record<string, { schema: object }> }> }>
  >;
  components: object;
};

let gw: TestGateway;
let doc: Doc;
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
const matcher = routeMatcher(servedRoutes({ enabled: true, checksTokens: false }));
const checked: string[] = [];

beforeAll(async () => {
  gw = await startTestGateway({
    overrides: { sandbox: { enabled: true, patientCount: DEFAULT_PATIENT_COUNT } },
  });
  const answer = await http<Doc>('GET', `${gw.url}/openapi.json`, { anonymous: true });
  expect(answer.status).toBe(200);
  doc = answer.body;
}, 60_000);
afterAll(async () => {
  await gw.stop();
});

/** Sends the request and holds its answer to the document; the answer is returned for the next step. */
async function call(
  method: string,
  path: string,
  options: Parameters<typeof http>[2] = {},
): Promise<JsonResponse> {
  const res = await http(method, `${gw.url}${path}`, { timeoutMs: 20_000, ...options });
  const spec = matcher.find(method, new URL(path, gw.url).pathname);
  if (spec === undefined) throw new Error(`${method} ${path} is no route of the gateway`);
  const where = `${method} ${openApiPath(spec.path)} -> ${res.status}`;
  const operation = doc.paths[openApiPath(spec.path)]?.[method.toLowerCase()];
  const response = operation?.responses[String(res.status)];
  if (response === undefined) throw new Error(`${where} is not documented`);
  const mediaType = (res.headers.get('content-type') ?? '').split(';')[0] ?? '';
  if (response.content?.[mediaType] === undefined)
    throw new Error(`${where}: ${mediaType} is not documented`);
  const flat = new URL(path, gw.url).searchParams.get('shape') === 'flat';
  const validate = documentedSchema(
    method.toLowerCase(),
    openApiPath(spec.path),
    res.status,
    mediaType,
    flat,
  );
  if (!validate(res.body)) {
    throw new Error(`${where} does not match its schema: ${ajv.errorsText(validate.errors)}`);
  }
  checked.push(where);
  return res;
}

/**
 * The schema /openapi.json gives for one answer, ready to validate with. A read's 200 is its
 * schema or, with `?shape=flat`, the flat shape: each answer is held to the one it asked for.
 */
function documentedSchema(method: string, path: string, status: number, mediaType: string, flat = false) {
  const documented = doc.paths[path]?.[method]?.responses[String(status)]?.content?.[mediaType]?.schema;
  if (documented === undefined) throw new Error(`${method} ${path} ${status} ${mediaType} is not documented`);
  const variants = (documented as { anyOf?: { $ref?: string }[] }).anyOf;
  const flatShape = variants?.find((v) => v.$ref === '#/components/schemas/FlatShape');
  const schema =
    variants === undefined || flatShape === undefined
      ? documented
      : flat
        ? flatShape
        : (variants.find((v) => v !== flatShape) ?? documented);
  return ajv.compile({ ...schema, components: doc.components });
}

const json = { 'content-type': 'application/json' };
const wait = { ...json, prefer: 'wait=10' };

it('answers the five-minute tour as documented', async () => {
  await call('GET', '/readyz');
  await call('GET', '/sandbox/fhir/Patient/pat-0001');
  const lookup = await call('GET', '/v1/patients/lookup?phone=(351)%20555-0153');
  expect(lookup.body.found).toBe(true);
  await call('GET', '/v1/patients/lookup?phone=(351)%20555-0153&shape=flat');
  await call('GET', '/v1/patients/pat-0001');
  const patch = await call('PATCH', '/v1/patients/pat-0001', {
    headers: { ...json, 'idempotency-key': `tour-phone-${Date.now()}` },
    body: { phones: ['+1 617 555 0199'] },
  });
  expect(patch.status).toBe(202);
  await call('GET', `/v1/operations/${String(patch.body.operationId)}`);
  await call('POST', '/v1/patients/pat-0001/update', {
    raw: 'phones=617-555-0199',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
});

it('answers a whole call as documented', async () => {
  const verify = await call('POST', '/v1/patients/verify', {
    headers: json,
    body: { birthDate: '1976-02-03', family: 'russo', callerId: '+13515550153' },
  });
  expect(verify.body.verified).toBe(true);
  await call('GET', '/v1/patients/pat-0001/summary');
  const slots = await call('GET', '/v1/slots?practitioner=pr-0001&limit=2');
  const [s1, s2] = (slots.body.slots as { id: string }[]).map((s) => s.id);
  const book = await call('POST', '/v1/appointments', {
    headers: { ...wait, 'idempotency-key': `tour-book-${Date.now()}` },
    body: { patientId: 'pat-0001', slotId: s1, mode: 'in-person', reason: 'Rash follow-up' },
  });
  expect(book.body.status).toBe('succeeded');
  const appointment = String(book.body.resourceRef).replace('Appointment/', '');
  const moved = await call('POST', `/v1/appointments/${appointment}/reschedule`, {
    headers: wait,
    body: { slotId: s2 },
  });
  const movedTo = String(moved.body.resourceRef).replace('Appointment/', '');
  await call('POST', `/v1/appointments/${movedTo}/cancel`, {
    headers: wait,
    body: { reason: 'patient-request' },
  });
  await call('POST', '/v1/calls', {
    headers: { ...wait, 'x-contact-id': `call-${Date.now()}` },
    body: {
      patientId: 'pat-0001',
      startedAt: '2026-11-27T14:00:00Z',
      endedAt: '2026-11-27T14:07:00Z',
      agentName: 'Agent 12',
      reason: 'appointment',
      disposition: 'resolved',
      notes: 'Moved, then cancelled the rash follow-up.',
    },
  });
  await call('POST', '/v1/callbacks', {
    headers: wait,
    body: { patientId: 'pat-0001', phone: '351-555-0153', reason: 'Offer an earlier slot' },
  });
}, 60_000);

it('answers what operators and their tools read as documented', async () => {
  await call('GET', '/v1/status');
  await call('GET', '/v1/status/history?connection=sandbox&minutes=5');
  await call('GET', '/v1/operations?status=failed');
  await call('GET', '/v1/operations/replay');
  const plan = await call('POST', '/v1/operations/replay', { body: { status: 'failed' } });
  expect(plan.body.dryRun).toBe(true);
  await call('GET', '/v1/events/subscribers');
  await call('GET', '/v1/audit?patient=pat-0001&limit=5');
  const metrics = await call('GET', '/metrics');
  expect(metrics.status).toBe(200);
  const console = await call('GET', '/console');
  expect(console.status).toBe(200);
});

it('answers refusals as documented problems', async () => {
  const anonymous = await call('GET', '/v1/patients/lookup?phone=6175550199', { anonymous: true });
  expect(anonymous.status).toBe(401);
  const invalid = await call('GET', '/v1/patients/lookup?phone=12');
  expect(invalid.status).toBe(400);
  const missing = await call('GET', '/v1/operations/op_0123456789abcdef');
  expect(missing.status).toBe(404);
  expect(checked.length).toBeGreaterThan(15);
});

it('would notice answers that stray from their schemas', () => {
  const lookup = documentedSchema('get', '/v1/patients/lookup', 200, 'application/json');
  expect(
    lookup({ found: 'yes', phone: '+13515550153', matches: [], freshness: { source: 'ehr', asOf: 'x' } }),
  ).toBe(false);
  const receipt = documentedSchema('get', '/v1/operations/{id}', 200, 'application/json');
  expect(receipt({ operationId: 'op_0123456789', status: 'done' })).toBe(false);
  const flatLookup = documentedSchema('get', '/v1/patients/lookup', 200, 'application/json', true);
  expect(flatLookup({ found: 'true', matches_count: '1' })).toBe(true);
  expect(flatLookup({ found: true })).toBe(false);
  const problem = documentedSchema('get', '/v1/slots', 401, 'application/problem+json');
  expect(
    problem({ type: 't', title: 't', status: 401, detail: 'd', code: 'SLOT_TAKEN', retryable: false }),
  ).toBe(false);
});
