/**
 * The mapping part of /v1/status shows a tenant its own profiles, and of the last reload only the
 * problems of its own profiles and connections (another tenant's carry its file paths and record
 * references), plus those of the gateway itself.
 */
import type { MappingCatalog, ProfileReloadOutcome } from '../../src/domain/mapping-catalog';
import { mappingStatus } from '../../src/use-cases/mapping-status';
import type { ConnectionContext, UseCaseDeps } from '../../src/use-cases/use-case-deps';

const outcome: ProfileReloadOutcome = {
  ok: false,
  trigger: 'api',
  at: '2030-01-01T00:00:00.000Z',
  profiles: [
    { name: 'acme', hash: 'a'.repeat(64), since: '2030-01-01T00:00:00.000Z', changed: false },
    { name: 'globex', hash: 'b'.repeat(64), since: '2030-01-01T00:00:00.000Z', changed: false },
  ],
  problems: [],
  details: [
    { profile: 'acme', message: '/srv/mappings/acme/patient.yaml: read.mrn: bad' },
    { profile: 'globex', message: '/srv/mappings/globex/patient.yaml: read.mrn: bad' },
    {
      profile: 'globex',
      connection: 'globex-ehr',
      message: 'connections.globex-ehr: Patient/g-1 cannot be read: patient.yaml read.name',
    },
    {
      profile: 'acme',
      connection: 'acme-ehr',
      message: 'connections.acme-ehr: Patient/a-1 cannot be read: patient.yaml read.name',
    },
    { message: 'the new versions could not be stored in Redis: connection refused' },
  ],
};

const catalog = {
  running: () => outcome.profiles.map(({ name, hash, since }) => ({ name, hash, since })),
  lastReload: () => outcome,
  emptyFields: () => [],
} as unknown as MappingCatalog;

const connection = (name: string, profile: string) =>
  [name, { name, mapping: { name: profile } } as unknown as ConnectionContext] as const;
const deps = {
  mappingCatalog: catalog,
  connections: new Map([connection('acme-ehr', 'acme'), connection('globex-ehr', 'globex')]),
} as unknown as Pick<UseCaseDeps, 'mappingCatalog' | 'connections'>;

it("shows a tenant its own reload problems and the gateway's, never another tenant's", () => {
  const status = mappingStatus(deps, ['acme-ehr']);
  expect(status.profiles.map((p) => p.name)).toEqual(['acme']);
  expect(status.lastReload).toEqual({
    ok: false,
    trigger: 'api',
    at: outcome.at,
    profiles: [expect.objectContaining({ name: 'acme' })],
    problems: [
      '/srv/mappings/acme/patient.yaml: read.mrn: bad',
      'connections.acme-ehr: Patient/a-1 cannot be read: patient.yaml read.name',
      'the new versions could not be stored in Redis: connection refused',
      // Another tenant's problems are counted, never named: the refusal is explained without them.
      '2 problem(s) in mapping profiles of other tenants of this gateway (reloading is process-wide: their operator must fix them)',
    ],
  });
  expect(JSON.stringify(status)).not.toContain('globex');
});

it('shows every problem to a caller who sees every connection', () => {
  expect(mappingStatus(deps).lastReload?.problems).toHaveLength(5);
});
