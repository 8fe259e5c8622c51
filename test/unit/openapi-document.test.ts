/**
 * The OpenAPI document against the route table it is built from: valid OpenAPI 3.1 to a validator
 * library, usable by a client generator, and covering exactly the routes a gateway serves, with
 * each route's scopes, in each sandbox configuration.
 */
import {
  buildOpenApiDocument,
  openApiPath,
  type OpenApiDocument,
} from '../../src/http/openapi/build-document';
import { servedRoutes, type SandboxServing } from '../../src/http/openapi/served-routes';
import { routeKey, routeMatcher, scopesOf, type RouteSpec } from '../../src/http/route-table';
import { runEsmScript } from '../support/esm-script';

const VARIANTS: readonly (SandboxServing & { readonly name: string })[] = [
  { name: 'no sandbox', enabled: false, checksTokens: false },
  { name: 'sandbox behind the gateway', enabled: true, checksTokens: false },
  { name: 'sandbox checking its own tokens', enabled: true, checksTokens: true },
];

const documentFor = (sandbox: SandboxServing): OpenApiDocument =>
  buildOpenApiDocument({ routes: servedRoutes(sandbox), version: '0.1.0', phoneRegion: 'US' });

type Operation = {
  readonly security: Record<string, string[]>[];
  readonly 'x-required-scopes'?: string[];
  readonly responses: Record<string, { content?: Record<string, unknown> }>;
};

function operations(doc: OpenApiDocument): Map<string, Operation> {
  const found = new Map<string, Operation>();
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, operation] of Object.entries(item)) {
      found.set(`${method.toUpperCase()} ${path}`, operation as unknown as Operation);
    }
  }
  return found;
}

/** The validator ships only as an ES module: it runs in a process of its own. */
function validateWithLibrary(doc: OpenApiDocument): { valid: boolean; errors: unknown; version: string } {
  const script = `
    import { Validator } from '@seriousme/openapi-schema-validator';
    let text = '';
    for await (const chunk of process.stdin) text += chunk;
    const validator = new Validator();
    const result = await validator.validate(JSON.parse(text));
    process.stdout.write(JSON.stringify({ valid: result.valid, errors: result.errors ?? null, version: validator.version }));
  `;
  const out = runEsmScript(script, JSON.stringify(doc));
  return JSON.parse(out) as { valid: boolean; errors: unknown; version: string };
}

/** What is wrong with the document's coverage of `routes`, one sentence per route. */
function coverageProblems(routes: readonly RouteSpec[], doc: OpenApiDocument): string[] {
  const documented = operations(doc);
  return routes.flatMap((spec: RouteSpec): string[] => {
    const operation = documented.get(`${spec.method} ${openApiPath(spec.path)}`);
    if (operation === undefined) return [`${routeKey(spec)} is missing from the OpenAPI document`];
    if (spec.access === 'public') {
      return operation.security.length === 0
        ? []
        : [`${routeKey(spec)} is public but documented with security`];
    }
    const scopes = [...scopesOf(spec.access)];
    const inRequirements = [...new Set(operation.security.flatMap((r) => Object.values(r).flat()))];
    const wrong =
      JSON.stringify(operation['x-required-scopes']) !== JSON.stringify(scopes) ||
      JSON.stringify(inRequirements.sort()) !== JSON.stringify([...scopes].sort()) ||
      !operation.security.some((r) => JSON.stringify(r.oauth2) === JSON.stringify([scopes[0]]));
    return wrong ? [`${routeKey(spec)} is documented with other scopes than ${scopes.join(' or ')}`] : [];
  });
}

describe.each(VARIANTS)('the OpenAPI document, $name', (variant) => {
  const doc = documentFor(variant);
  const documented = operations(doc);
  const routes = servedRoutes(variant);

  it('is valid OpenAPI 3.1 to @seriousme/openapi-schema-validator', () => {
    const result = validateWithLibrary(doc);
    expect(result.errors).toBeNull();
    expect(result).toMatchObject({ valid: true, version: '3.1' });
  });

  it('documents every route the gateway serves, with the scopes that open it', () => {
    expect(coverageProblems(routes, doc)).toEqual([]);
  });

  it('documents no path or method the gateway does not serve', () => {
    const matcher = routeMatcher(routes);
    const sample = (path: string) => path.replace(/\{\w+\}/g, 'x1');
    const unserved = [...documented.keys()].filter((key) => {
      const [method = '', path = ''] = key.split(' ');
      return matcher.find(method, sample(path)) === undefined;
    });
    expect(unserved).toEqual([]);
    expect(documented.size).toBe(routes.length);
  });

  it('documents every problem response as application/problem+json with its codes', () => {
    const lookup = documented.get('GET /v1/patients/lookup');
    const unauthorized = lookup?.responses['401']?.content?.['application/problem+json'];
    expect(JSON.stringify(unauthorized)).toContain('UNAUTHORIZED');
    const booking = documented.get('POST /v1/appointments');
    expect(JSON.stringify(booking?.responses['409'])).toContain('SLOT_TAKEN');
    expect(JSON.stringify(booking?.responses['422'])).toContain('IDEMPOTENCY_MISMATCH');
  });
});

it('fails the coverage check when a served route has no documentation', () => {
  const routes = [...servedRoutes(VARIANTS[0] ?? { enabled: false, checksTokens: false })];
  const extra: RouteSpec = { method: 'GET', path: '/v1/undocumented', access: 'operations:read' };
  const doc = buildOpenApiDocument({ routes: [...routes, extra], version: '0', phoneRegion: 'US' });
  expect(coverageProblems([...routes, extra], doc)).toEqual([
    'GET /v1/undocumented is missing from the OpenAPI document',
  ]);
});

it('lets openapi-typescript generate a typed client from the document', () => {
  const script = `
    import openapiTS, { astToString } from 'openapi-typescript';
    let text = '';
    for await (const chunk of process.stdin) text += chunk;
    process.stdout.write(astToString(await openapiTS(text)));
  `;
  const source = runEsmScript(script, JSON.stringify(documentFor({ enabled: true, checksTokens: false })));
  for (const name of [
    'getPatientsLookup',
    'postAppointments',
    'getOperationsById',
    'WriteReceipt',
    'Problem',
  ]) {
    expect(source).toContain(name);
  }
  expect(source).toContain('"/v1/patients/lookup"');
});
