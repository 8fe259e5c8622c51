import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../../src/config/load-config';
import { BUDGETS } from '../../src/domain/rate-limits';
import { budgetOf, ROUTE_BUDGETS, routeKey } from '../../src/http/route-budgets';
import { ROUTE_TABLE, routeMatcher } from '../../src/http/route-table';
import { budgetPolicy } from '../../src/wiring/rate-limits';

function configIn(yaml: string | undefined) {
  const cwd = mkdtempSync(join(tmpdir(), 'continuum-limits-config-'));
  if (yaml !== undefined) writeFileSync(join(cwd, 'continuum.config.yaml'), yaml);
  return loadConfig({ env: {}, cwd, builtInMappingsDir: '/mappings' });
}

describe('route budgets', () => {
  it('names a budget, or unlimited, for every entry of the route table', () => {
    const missing = ROUTE_TABLE.map(routeKey).filter((key) => ROUTE_BUDGETS[key] === undefined);
    expect(missing).toEqual([]);
  });

  it('lists no route the table does not have', () => {
    const table = new Set(ROUTE_TABLE.map(routeKey));
    expect(Object.keys(ROUTE_BUDGETS).filter((key) => !table.has(key))).toEqual([]);
  });

  it('limits no public route: those are reached without a client to count against', () => {
    const limitedPublic = ROUTE_TABLE.filter((r) => r.access === 'public' && budgetOf(r) !== 'unlimited');
    expect(limitedPublic.map(routeKey)).toEqual([]);
  });

  it.each([
    ['GET', '/v1/patients/lookup', 'lookup'],
    ['POST', '/v1/patients/verify', 'verify'],
    ['GET', '/v1/patients/p1', 'read'],
    ['GET', '/v1/patients/p1/summary', 'read'],
    ['GET', '/v1/patients/p1/appointments', 'read'],
    ['GET', '/v1/slots', 'read'],
    ['GET', '/v1/operations/op_1', 'read'],
    ['POST', '/v1/patients', 'write'],
    ['PATCH', '/v1/patients/p1', 'write'],
    ['POST', '/v1/patients/p1/update', 'write'],
    ['POST', '/v1/appointments/a1/cancel', 'write'],
    ['POST', '/v1/calls', 'write'],
    ['POST', '/v1/callbacks', 'write'],
    ['POST', '/oauth/token', 'unlimited'],
    ['GET', '/healthz', 'unlimited'],
    ['POST', '/v1/operations/op_1/retry', 'unlimited'],
    ['GET', '/sandbox/fhir/Patient/1', 'unlimited'],
  ])('%s %s takes from %s', (method, path, budget) => {
    const spec = routeMatcher().find(method, path);
    expect(spec).toBeDefined();
    expect(budgetOf(spec!)).toBe(budget);
  });

  it('counts a route missing from the list rather than letting it through', () => {
    expect(budgetOf({ method: 'GET', path: '/v1/new-thing', access: 'patients:read' })).toBe('read');
    expect(budgetOf({ method: 'POST', path: '/v1/new-thing', access: 'patients:write' })).toBe('write');
  });
});

describe('limits configuration', () => {
  it('has finite defaults for every budget and a scanning rule', () => {
    const { limits } = configIn(undefined);
    for (const budget of BUDGETS) expect(limits.budgets[budget]).toBeGreaterThan(0);
    expect(limits).toMatchObject({
      windowSeconds: 60,
      perTenant: {},
      perClient: {},
      scanning: { distinctMisses: 30, windowSeconds: 60, throttleSeconds: 300 },
    });
  });

  it('resolves a client override over its tenant override over the default, budget by budget', () => {
    const { limits } = configIn(
      [
        'limits:',
        '  budgets: { lookup: 100, write: 50 }',
        '  perTenant: { default: { lookup: 20, read: 7 } }',
        '  perClient: { cl_small: { lookup: 3 } }',
      ].join('\n'),
    );
    const policy = budgetPolicy(limits);
    expect(policy('lookup', { clientId: 'cl_small', tenant: 'default' }).points).toBe(3);
    expect(policy('read', { clientId: 'cl_small', tenant: 'default' }).points).toBe(7);
    expect(policy('lookup', { clientId: 'cl_other', tenant: 'default' }).points).toBe(20);
    expect(policy('write', { clientId: 'cl_other', tenant: 'default' }).points).toBe(50);
    expect(policy('lookup', { clientId: 'cl_other', tenant: 'other' })).toEqual({
      points: 100,
      windowSeconds: 60,
    });
  });

  it('refuses an override for a tenant that does not exist, and a budget of nothing', () => {
    try {
      configIn('limits:\n  budgets: { lookup: 0 }\n  perTenant: { nobody: { lookup: 5 } }\n');
      throw new Error('expected a ConfigError');
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).problems.join('\n')).toMatch(/limits\.budgets\.lookup/);
    }
    try {
      configIn('limits:\n  perTenant: { nobody: { lookup: 5 } }\n');
      throw new Error('expected a ConfigError');
    } catch (error) {
      expect((error as ConfigError).problems).toEqual(['limits.perTenant.nobody: no tenant named "nobody"']);
    }
  });
});
