import { createPhoneSearchValue, createPhoneSearchValues } from '../../src/phone';
import { createPhoneSearchWay } from '../../src/use-cases/phone-search-way';
import { createRecentPhoneSearches } from '../../src/use-cases/recent-phone-searches';
import { DEFAULT_CAPABILITIES } from '../../src/domain/ehr-capabilities';
import { join } from 'node:path';
import { ContinuumError } from '../../src/domain/errors';
import type { Patient } from '../../src/domain/fhir';
import type { AttemptLimiter, CachedRead, EhrClient, Logger, SearchParams } from '../../src/domain/ports';
import type { PatientModel } from '../../src/domain/patient';
import { loadMappingProfile, type MappingProfile } from '../../src/mapping';
import { createConfirmedPatients } from '../../src/use-cases/confirmed-patients';
import { createBackgroundRefreshes } from '../../src/use-cases/background-refreshes';
import type { ConnectionContext } from '../../src/use-cases/use-case-deps';
import {
  callerKeyOf,
  candidateSearches,
  foldName,
  matchesClaim,
  verifyPatient,
  type VerifyDeps,
} from '../../src/use-cases/verify-patient';

const MODEL: PatientModel = {
  id: 'p1',
  version: '1',
  mrn: 'MRN-77',
  name: { given: ['Ana'], family: 'García-López' },
  birthDate: '1980-02-29',
  gender: 'female',
  phones: ['+16175551234'],
  email: undefined,
  address: undefined,
  preferredLanguage: undefined,
};

describe('foldName', () => {
  it.each([
    ['García-López', 'garcia lopez'],
    ['García-López', 'GARCIALOPEZ'],
    ['  Nguyễn ', 'nguyen'],
    ["O'Brien", 'OBrien'],
    ['O’Brien', 'o brien'],
    ['Straße', 'STRASSE'],
    ['Ødegård', 'odegard'],
    ['ﬀolkes', 'ffolkes'],
  ])('%j and %j compare equal', (a, b) => {
    expect(foldName(a)).toBe(foldName(b));
  });

  it('keeps names that differ apart', () => {
    expect(foldName('Garcia')).not.toBe(foldName('Garcia Lopez'));
    expect(foldName('Lopez')).not.toBe(foldName('Lopes'));
    expect(foldName("'- .")).toBe('');
  });
});

describe('matchesClaim', () => {
  it('needs the birth date and every factor given', () => {
    expect(matchesClaim(MODEL, { birthDate: '1980-02-29', family: 'garcia lopez' })).toBe(true);
    expect(matchesClaim(MODEL, { birthDate: '1980-02-29', mrn: 'MRN-77', phone: '+16175551234' })).toBe(true);
    expect(matchesClaim(MODEL, { birthDate: '1980-03-01', family: 'garcia lopez' })).toBe(false);
    expect(matchesClaim(MODEL, { birthDate: '1980-02-29', family: 'garcia' })).toBe(false);
    expect(matchesClaim(MODEL, { birthDate: '1980-02-29', mrn: 'mrn-77' })).toBe(false);
    expect(
      matchesClaim(MODEL, { birthDate: '1980-02-29', family: 'garcia lopez', phone: '+16175550000' }),
    ).toBe(false);
    expect(matchesClaim({ ...MODEL, birthDate: undefined }, { birthDate: '1980-02-29', mrn: 'MRN-77' })).toBe(
      false,
    );
    expect(matchesClaim({ ...MODEL, mrn: undefined }, { birthDate: '1980-02-29', mrn: 'MRN-77' })).toBe(
      false,
    );
  });
});

describe('callerKeyOf', () => {
  it('counts a calling number the same however it is written, and keeps kinds apart', () => {
    const a = callerKeyOf({ kind: 'caller-id', value: '+1 617 555 1234' }, 'US');
    expect(callerKeyOf({ kind: 'caller-id', value: '(617) 555-1234' }, 'US')).toBe(a);
    expect(callerKeyOf({ kind: 'caller-id', value: 'Anonymous' }, 'US')).toBe('ani:anonymous');
    expect(callerKeyOf({ kind: 'contact', value: '+16175551234' }, 'US')).not.toBe(a);
  });
});

describe('candidateSearches', () => {
  const usSearch = createPhoneSearchValue('US');
  it('asks by the most selective factor, never by the birth date', () => {
    expect(
      candidateSearches(
        { birthDate: '1980-02-29', family: 'X', mrn: 'A,1|b', phone: '+16175551234' },
        usSearch,
      ),
    ).toEqual([{ _count: '100', identifier: 'A\\,1\\|b' }]);
    const [byPhone, ...more] = candidateSearches(
      { birthDate: '1980-02-29', family: 'X', phone: '+16175551234' },
      usSearch,
    );
    expect(more).toEqual([]);
    expect(String(byPhone?.phone).split(',')).toEqual(
      expect.arrayContaining(['+16175551234', '617-555-1234']),
    );
    expect(byPhone?.family).toBeUndefined();
    expect(byPhone?.birthdate).toBeUndefined();
  });

  it('asks for family names by their first word, then by their initial, so no spelling is missed', () => {
    const searches = candidateSearches({ birthDate: '1980-02-29', family: ' Élodie-Dupont' }, usSearch);
    expect(searches.map((s) => s.family)).toEqual(['Élodie,Elodie', 'É,E']);
    expect(searches.every((s) => s.birthdate === undefined)).toBe(true);
    expect(candidateSearches({ birthDate: '1980-02-29', family: "O'Brien" }, usSearch)).toEqual([
      { _count: '100', family: 'O' },
    ]);
  });

  it('leaves a phone an EHR cannot search by to the phone index', () => {
    expect(candidateSearches({ birthDate: '1980-02-29', phone: '+16175551234' }, usSearch, false)).toEqual(
      [],
    );
  });
});

describe('verifyPatient', () => {
  let mapping: MappingProfile;
  beforeAll(async () => {
    mapping = await loadMappingProfile(join(__dirname, '..', '..', 'mappings', 'default'), {
      defaultRegion: 'US',
    });
  });

  const patient = (id: string, overrides: Partial<Patient> = {}): Patient => ({
    resourceType: 'Patient',
    id,
    meta: { versionId: '1' },
    identifier: [
      {
        type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'MR' }] },
        value: `MRN-${id}`,
      },
    ],
    name: [{ use: 'official', family: 'Rivera', given: ['Maria'] }],
    birthDate: '1984-07-12',
    telecom: [{ system: 'phone', value: '617-555-1234' }],
    ...overrides,
  });

  interface World {
    deps: VerifyDeps;
    connection: ConnectionContext;
    searches: SearchParams[];
    reads: string[];
    attempts: Map<string, number>;
    logs: Record<string, unknown>[];
  }

  function world(options: {
    found?: Patient[];
    stored?: Patient[];
    indexed?: string[];
    cached?: Record<string, CachedRead<PatientModel>>;
    ehr?: 'up' | 'down' | 'breaker-open' | 'rejecting';
    limiter?: 'ok' | 'broken';
  }): World {
    const searches: SearchParams[] = [];
    const reads: string[] = [];
    const attempts = new Map<string, number>();
    const logs: Record<string, unknown>[] = [];
    const fail = (): never => {
      if (options.ehr === 'rejecting') throw new ContinuumError('EHR_REJECTED');
      throw new ContinuumError('EHR_UNAVAILABLE');
    };
    const ehr = {
      connection: 'test',
      search: (_type: string, params: SearchParams) => {
        searches.push(params);
        if (options.ehr === 'down' || options.ehr === 'rejecting') fail();
        return Promise.resolve(options.found ?? []);
      },
      read: (_type: string, id: string) => {
        reads.push(id);
        if (options.ehr === 'down' || options.ehr === 'rejecting') fail();
        const stored = (options.stored ?? options.found ?? []).find((p) => p.id === id);
        if (stored === undefined) return Promise.reject(new ContinuumError('NOT_FOUND'));
        return Promise.resolve(stored);
      },
    } as unknown as EhrClient;
    const connection: ConnectionContext = {
      name: 'test',
      ehr,
      mapping,
      readDeadlineMs: 1000,
      readDeadline: () => 1000,
      writeTimeoutMs: 1000,
      acceptCheckMs: 1000,
      staleAfterMs: 1000,
      refreshes: createBackgroundRefreshes(),
      capabilities: DEFAULT_CAPABILITIES,
      phoneRegion: 'US',
      phoneSearchValue: createPhoneSearchValue('US'),
      phoneSearchValues: createPhoneSearchValues('US'),
      phoneSearchWay: createPhoneSearchWay({ mode: 'combined' }),
      recentPhoneSearches: createRecentPhoneSearches({ windowMs: 0, maxEntries: 1 }),
      confirmedPatients: createConfirmedPatients({ ttlMs: 1000, maxEntries: 10 }),
      ehrAvailable: () => Promise.resolve(options.ehr !== 'breaker-open'),
      ehrAnswered: () => Promise.resolve(),
      ehrFailed: () => Promise.resolve(),
    };
    const limiter: AttemptLimiter = {
      reserve: (key) => {
        if (options.limiter === 'broken') return Promise.reject(new Error('redis down'));
        const used = attempts.get(key) ?? 0;
        if (used >= 5) return Promise.resolve({ allowed: false, retryAfterSeconds: 60 });
        attempts.set(key, used + 1);
        return Promise.resolve({ allowed: true });
      },
      release: (key) => {
        attempts.set(key, Math.max(0, (attempts.get(key) ?? 0) - 1));
        return Promise.resolve();
      },
      settle: (key, failed) => {
        if (!failed) attempts.set(key, Math.max(0, (attempts.get(key) ?? 0) - 1));
        return Promise.resolve();
      },
    };
    const logger: Logger = {
      info: (obj) => logs.push(obj),
      warn: (obj) => logs.push(obj),
      error: (obj) => logs.push(obj),
      debug: () => undefined,
      child: () => logger,
    };
    const cache = new Map<string, unknown>(Object.entries(options.cached ?? {}));
    const deps: VerifyDeps = {
      attemptLimiter: limiter,
      patientHold: {
        reserve: () => Promise.resolve({ held: false }),
        settle: () => Promise.resolve([]),
      },
      events: { publish: () => Promise.resolve() },
      phoneIndex: {
        remember: () => Promise.resolve(),
        replace: () => Promise.resolve(),
        find: () => Promise.resolve(options.indexed ?? []),
      },
      readCache: {
        put: (_c, key, value, asOf) => {
          cache.set(key, { value, asOf: asOf.toISOString() });
          return Promise.resolve();
        },
        get: <T>(_c: string, key: string) => Promise.resolve(cache.get(key) as CachedRead<T> | undefined),
        forgetGroup: () => Promise.resolve(),
      },
      clock: { now: () => new Date('2026-01-02T03:04:05Z') },
      logger,
      enqueueTimeoutMs: 200,
    };
    return { deps, connection, searches, reads, attempts, logs };
  }

  const caller = { kind: 'caller-id', value: '+16175550000' } as const;
  const claim = { birthDate: '1984-07-12', family: 'rivera', caller, client: 'cl_ivr' };

  it('verifies the one patient who matches, and gives the attempt back', async () => {
    const w = world({ found: [patient('p1'), patient('p2', { birthDate: '1984-07-13' })] });
    await expect(verifyPatient(w.deps, w.connection, claim)).resolves.toEqual({
      verified: true,
      patientId: 'p1',
      freshness: { source: 'ehr', asOf: '2026-01-02T03:04:05.000Z' },
      // Both were candidates for the claim's other factors: the audit trail records the attempt against both.
      attemptedAgainst: ['p1', 'p2'],
    });
    expect([...w.attempts.values()]).toEqual([0]);
    expect(w.logs).toContainEqual(expect.objectContaining({ outcome: 'verified', patientId: 'p1' }));
  });

  it('never picks one of several matching patients, and counts the attempt', async () => {
    const w = world({ found: [patient('p1'), patient('p2')] });
    await expect(verifyPatient(w.deps, w.connection, claim)).resolves.toEqual({
      verified: false,
      freshness: { source: 'ehr', asOf: '2026-01-02T03:04:05.000Z' },
      attemptedAgainst: ['p1', 'p2'],
    });
    expect([...w.attempts.values()]).toEqual([1]);
    expect(w.logs).toContainEqual(expect.objectContaining({ outcome: 'ambiguous' }));
    expect(JSON.stringify(w.logs)).not.toMatch(/rivera|1984|617/i);
  });

  it('does not verify from a full page of candidates: a twin could be on the next', async () => {
    const found = [
      patient('p1'),
      ...Array.from({ length: 99 }, (_, i) => patient(`x${i}`, { birthDate: '1999-01-01' })),
    ];
    const w = world({ found });
    expect((await verifyPatient(w.deps, w.connection, claim)).verified).toBe(false);
    expect(w.logs).toContainEqual(expect.objectContaining({ outcome: 'too-many-candidates' }));
  });

  it('confirms patients the phone index knows under the number, by a read', async () => {
    const w = world({
      found: [],
      stored: [patient('p9', { telecom: [{ system: 'phone', value: 'tel:+1-617-555-1234' }] })],
      indexed: ['p9', 'gone'],
    });
    const result = await verifyPatient(w.deps, w.connection, {
      birthDate: '1984-07-12',
      phone: '+16175551234',
      caller,
      client: 'cl_ivr',
    });
    expect(result).toMatchObject({ verified: true, patientId: 'p9' });
    expect(w.reads.sort()).toEqual(['gone', 'p9']);
  });

  it('checks only the candidate the agent names', async () => {
    const w = world({ found: [patient('p1'), patient('p2')] });
    const result = await verifyPatient(w.deps, w.connection, { ...claim, patientId: 'p2' });
    expect(result).toMatchObject({ verified: true, patientId: 'p2' });
    expect(w.searches).toEqual([]);
    expect(w.reads).toEqual(['p2']);
  });

  it('refuses a caller past the limit without asking the EHR', async () => {
    const w = world({ found: [patient('p1')] });
    for (let i = 0; i < 5; i++) {
      expect((await verifyPatient(w.deps, w.connection, { ...claim, family: 'wrong' })).verified).toBe(false);
    }
    const searched = w.searches.length;
    const refused = await verifyPatient(w.deps, w.connection, claim).catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'TOO_MANY_ATTEMPTS', status: 429, retryAfterSeconds: 60 });
    expect(w.searches.length).toBe(searched);
  });

  it('fails closed when the attempts cannot be counted', async () => {
    const w = world({ found: [patient('p1')], limiter: 'broken' });
    await expect(verifyPatient(w.deps, w.connection, claim)).rejects.toMatchObject({ status: 503 });
    expect(w.searches).toEqual([]);
  });

  it('gives the attempt back when the EHR gave no answer', async () => {
    const rejecting = world({ ehr: 'rejecting' });
    await expect(verifyPatient(rejecting.deps, rejecting.connection, claim)).rejects.toMatchObject({
      code: 'EHR_REJECTED',
    });
    expect([...rejecting.attempts.values()]).toEqual([0]);
    const down = world({ ehr: 'down' });
    await expect(verifyPatient(down.deps, down.connection, claim)).rejects.toMatchObject({
      code: 'EHR_UNAVAILABLE',
    });
    expect([...down.attempts.values()]).toEqual([0]);
  });

  it('checks a candidate against the continuity cache while the EHR is down or its breaker open', async () => {
    const cached = {
      'patient:p1': {
        value: { ...MODEL, id: 'p1', birthDate: '1984-07-12', name: { given: [], family: 'Rivera' } },
        asOf: '2026-01-01T00:00:00.000Z',
      },
    };
    for (const ehr of ['down', 'breaker-open'] as const) {
      const w = world({ ehr, cached });
      await expect(verifyPatient(w.deps, w.connection, { ...claim, patientId: 'p1' })).resolves.toEqual({
        verified: true,
        patientId: 'p1',
        freshness: { source: 'cache', asOf: '2026-01-01T00:00:00.000Z' },
        attemptedAgainst: ['p1'],
      });
      await expect(
        verifyPatient(w.deps, w.connection, { ...claim, family: 'Other', patientId: 'p1' }),
      ).resolves.toMatchObject({ verified: false, freshness: { source: 'cache' } });
      await expect(verifyPatient(w.deps, w.connection, { ...claim, patientId: 'p2' })).rejects.toMatchObject({
        code: 'EHR_UNAVAILABLE',
      });
      await expect(verifyPatient(w.deps, w.connection, claim)).rejects.toMatchObject({
        code: 'EHR_UNAVAILABLE',
      });
      if (ehr === 'breaker-open') expect(w.reads).toEqual([]);
    }
  });
});
