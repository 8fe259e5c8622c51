/**
 * The logger's own nets, each fed canary PHI values: the redaction paths (PHI field names at the
 * top and nested), the request serializer (query strings) and the error serializer (messages,
 * causes, EHR answers and OperationOutcomes carried by errors). No canary may reach the output.
 */
import { ContinuumError } from '../../src/domain/errors';
import { createLogger } from '../../src/observability/logger';
import { captureLogs } from '../support/log-capture';

const CANARY = {
  family: 'Zzlogfamily',
  given: 'Qqloggiven',
  birthDate: '1911-03-17',
  phone: '+16465550147',
  phoneDigits: '6465550147',
  email: 'canary.log@canary-log.example',
  street: 'Canarylog Lane 9',
  mrn: 'MRNLOGCANARY',
  note: 'Qqlog free text about the caller',
};

function logged(write: (logger: ReturnType<typeof createLogger>) => void): string {
  const capture = captureLogs();
  const logger = createLogger({ level: 'debug', destination: capture.stream });
  write(logger);
  return capture.text();
}

function expectNoCanary(text: string): void {
  for (const [field, value] of Object.entries(CANARY)) {
    expect({ field, found: text.includes(value) }).toEqual({ field, found: false });
  }
}

it('censors PHI fields at the top level and nested one or two levels down', () => {
  const text = logged((logger) => {
    logger.info(
      {
        name: CANARY.family,
        birthDate: CANARY.birthDate,
        phone: CANARY.phone,
        email: CANARY.email,
        mrn: CANARY.mrn,
        notes: CANARY.note,
        patient: {
          name: { given: [CANARY.given], family: CANARY.family },
          telecom: [{ system: 'phone', value: CANARY.phone }],
          address: { line: [CANARY.street] },
          identifier: [{ value: CANARY.mrn }],
        },
        change: { fields: { phones: [CANARY.phoneDigits], text: CANARY.note, birthdate: CANARY.birthDate } },
        operationId: 'op-kept',
      },
      'a write with PHI fields',
    );
  });
  expectNoCanary(text);
  // The net censors values; what identifies a record by reference stays.
  expect(text).toContain('op-kept');
  expect(text).toContain('[redacted]');
});

it('drops the query string of a request: FHIR searches carry names, birth dates and numbers', () => {
  const text = logged((logger) => {
    logger.info(
      {
        req: {
          method: 'GET',
          url: `/v1/patients/lookup?phone=${CANARY.phoneDigits}&family=${CANARY.family}&birthdate=${CANARY.birthDate}`,
        },
      },
      'request',
    );
  });
  expectNoCanary(text);
  expect(text).toContain('/v1/patients/lookup?[redacted]');
});

it('logs an error by kind and code only, whatever PHI its message, cause or EHR answer carries', () => {
  const cause = new Error(`Patient ${CANARY.given} ${CANARY.family} born ${CANARY.birthDate}`);
  const ehrAnswer = Object.assign(new Error(`Request failed: ${CANARY.email}`), {
    response: {
      status: 422,
      data: {
        resourceType: 'OperationOutcome',
        issue: [{ severity: 'error', diagnostics: `Rejected telecom ${CANARY.phone} at ${CANARY.street}` }],
      },
      body: JSON.stringify({ name: CANARY.family, note: CANARY.note }),
    },
    config: { url: `/Patient?phone=${CANARY.phoneDigits}` },
  });
  const rejected = new ContinuumError('EHR_REJECTED', {
    detail: `the EHR refused ${CANARY.mrn}`,
    cause: ehrAnswer,
    outcome: { issue: [{ diagnostics: CANARY.note }] },
    extra: { mrn: CANARY.mrn },
  });
  // An EHR's text may span lines; only stack frames may follow the first line.
  const multiLine = new Error(`Rejected:\n${CANARY.family}, ${CANARY.given}\nphone ${CANARY.phone}`);
  const text = logged((logger) => {
    logger.error({ err: rejected, operationId: 'op-1' }, 'write failed');
    logger.warn({ err: cause }, 'cause alone');
    logger.warn({ error: ehrAnswer }, 'EHR answer');
    logger.error({ err: multiLine }, 'multi-line message');
    logger.child({ component: 'worker' }).error({ err: rejected }, 'from a child logger');
  });
  expectNoCanary(text);
  const errors = text
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { err?: Record<string, unknown>; error?: Record<string, unknown> })
    .map((line) => line.err ?? line.error);
  expect(errors[0]).toMatchObject({
    type: 'ContinuumError',
    code: 'EHR_REJECTED',
    status: 422,
    retryable: false,
  });
  expect(errors.every((e) => e !== undefined && typeof e.stack === 'string')).toBe(true);
});
