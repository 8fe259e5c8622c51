/**
 * The OpenAPI 3.1 document of the API as this gateway serves it, built once at start from the
 * route table, the route documentation and the zod schemas the routes validate with.
 */
import { z } from 'zod';
import { ERROR_CODES, type ErrorCode } from '../../domain/errors';
import type { CountryCode } from '../../phone';
import { problemSchema } from '../schemas/problem.response';
import { writeReceiptSchema } from '../schemas/receipt.response';
import { routeKey, type RouteSpec } from '../route-table';
import { parametersOf } from './parameters';
import { named, type NamedSchema, type ResponseDoc, type RouteDoc } from './route-doc';
import { routeDocs } from './route-docs';
import { operationSecurity, securitySchemes } from './security';
import { FLAT_SHAPE, HEADERS, PARAMETERS } from './shared-components';
import { tidySchema } from './tidy-schema';

export interface DocumentOptions {
  /** The routes this gateway serves (the route table, less the sandbox's when it is off). */
  readonly routes: readonly RouteSpec[];
  readonly version: string;
  /** Numbers without a country code are read in this region (the default connection's). */
  readonly phoneRegion: CountryCode;
}

export type OpenApiDocument = Record<string, unknown> & {
  readonly paths: Record<string, Record<string, Record<string, unknown>>>;
};

const TAGS = [
  ['Patients', 'Caller lookup, identity verification, demographics and corrections'],
  ['Scheduling', 'Free slots, appointments, booking and changes'],
  ['Calls', 'Call logs and callback requests'],
  ['Operations', 'Receipts of writes, replays and the pipeline status'],
  ['Events', 'Event subscribers'],
  ['Crisis', 'Site closures, and what patients are told about their visits'],
  ['Audit', 'Who read or changed what'],
  [
    'Mappings',
    'Mapping profiles: the workbench (explain and try on real records, fixtures, rules), versions, reloads and changes',
  ],
  ['Crisis', 'Crisis activations and the notices callers hear'],
  ['Access', 'Tokens and the keys that verify them'],
  ['Health', 'Probes'],
  ['EHR notifications', 'What EHRs push'],
  ['Sandbox EHR', 'The built-in FHIR R4 sandbox, when enabled'],
  ['Documentation', 'This document and its rendering'],
] as const;

const WRITE_PROBLEMS: readonly ErrorCode[] = [
  'IDEMPOTENCY_MISMATCH',
  'CONFLICT',
  'QUEUE_UNAVAILABLE',
  'WRITE_OUTCOME_UNKNOWN',
  'WRITE_QUOTA_EXCEEDED',
  'STORAGE_FULL',
];
const BODY_PROBLEMS: readonly ErrorCode[] = ['MALFORMED_BODY', 'UNSUPPORTED_MEDIA_TYPE', 'PAYLOAD_TOO_LARGE'];
const PROTECTED_PROBLEMS: readonly ErrorCode[] = ['UNAUTHORIZED', 'FORBIDDEN', 'TOO_MANY_REQUESTS'];

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

/** `/v1/patients/:id` -> `/v1/patients/{id}`; `/sandbox/fhir{/*rest}` -> `/sandbox/fhir/{rest}`. */
export function openApiPath(expressPath: string): string {
  return expressPath
    .replace(/\{\/\*(\w+)\}/g, '/{$1}')
    .replace(/\*(\w+)/g, '{$1}')
    .replace(/:(\w+)/g, '{$1}');
}

/** `GET /v1/patients/:id/summary` -> `getPatientsByIdSummary`. */
export function operationIdOf(spec: RouteSpec): string {
  const words = spec.path
    .replace(
      /\{\/\*(\w+)\}|\*(\w+)/g,
      (_all, a: string | undefined, b: string | undefined) => `/:${a ?? b ?? ''}`,
    )
    .split(/[/.\-{}]+/)
    .filter((w) => w !== '' && w !== 'v1')
    .map((w) => (w.startsWith(':') ? `By${capitalize(w.slice(1))}` : capitalize(w)));
  return `${spec.method.toLowerCase()}${words.join('')}`;
}

function capitalize(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}

/** Named schemas, each converted once; one name must always mean one schema. */
class SchemaSet {
  private readonly byName = new Map<string, z.ZodType>();
  add(schema: NamedSchema): string {
    const known = this.byName.get(schema.name);
    if (known !== undefined && known !== schema.schema) {
      throw new Error(`two schemas are named ${schema.name} in the API documentation`);
    }
    this.byName.set(schema.name, schema.schema);
    return schema.name;
  }
  toComponents(io: 'input' | 'output'): Record<string, unknown> {
    const registry = z.registry<{ id: string }>();
    for (const [id, schema] of this.byName) registry.add(schema, { id });
    const { schemas } = z.toJSONSchema(registry, {
      target: 'draft-2020-12',
      io,
      unrepresentable: 'any',
      uri: (id) => `#/components/schemas/${id}`,
    });
    return Object.fromEntries(
      Object.entries(schemas).map(([id, schema]) => {
        const { $schema: _dialect, $id: _id, ...rest } = schema as Record<string, unknown>;
        return [id, tidySchema(rest)];
      }),
    );
  }
}

export function buildOpenApiDocument(options: DocumentOptions): OpenApiDocument {
  const docs = routeDocs(options.phoneRegion);
  const requests = new SchemaSet();
  const responses = new SchemaSet();
  const problem = responses.add(named('Problem', problemSchema));
  const writeReceipt = named('WriteReceipt', writeReceiptSchema);
  const paths: OpenApiDocument['paths'] = {};
  const operationIds = new Set<string>();

  for (const spec of options.routes) {
    const doc = docs[routeKey(spec)];
    // Left out, so the route-coverage test names it; start-up does not fail for want of prose.
    if (doc === undefined) continue;
    const operationId = operationIdOf(spec);
    if (operationIds.has(operationId)) throw new Error(`operationId ${operationId} is not unique`);
    operationIds.add(operationId);
    const path = openApiPath(spec.path);
    const { security, scopes } = operationSecurity(spec.access);
    const isApiRead = spec.method === 'GET' && spec.path.startsWith('/v1/');

    const parameters: unknown[] = [
      ...parametersOf(doc.path, 'path'),
      ...parametersOf(doc.query, 'query'),
      ...parametersOf(doc.headers, 'header'),
      ...(doc.write
        ? ['Prefer', 'IdempotencyKey', 'ContactId', 'CallId'].map((p) => ({
            $ref: `#/components/parameters/${p}`,
          }))
        : []),
      ...(isApiRead ? [{ $ref: '#/components/parameters/Shape' }] : []),
    ];

    const declared: Record<number, ResponseDoc> = { ...(doc.responses ?? {}) };
    if (doc.write) {
      const writeAnswer = doc.receipt ?? writeReceipt;
      const receiptHeaders = ['Location', 'Preference-Applied'] as const;
      declared[202] = {
        description: 'Accepted: durably queued; follow Location',
        schema: writeAnswer,
        headers: [...receiptHeaders, 'Retry-After'],
      };
      declared[200] = {
        description: 'Final, with Prefer: wait=N (nothing created)',
        schema: writeAnswer,
        headers: receiptHeaders,
      };
      declared[201] = {
        description: 'Final, with Prefer: wait=N: the EHR created a resource',
        schema: writeAnswer,
        headers: receiptHeaders,
      };
    }
    const responsesOut: Record<string, unknown> = {};
    for (const [status, response] of Object.entries(declared)) {
      responsesOut[status] = responseObject(response, responses, isApiRead && status === '200');
    }
    for (const [status, codes] of problemCodesByStatus(doc, spec)) {
      const problemContent = {
        'application/problem+json': {
          schema: { allOf: [ref(problem), { properties: { code: { enum: codes } } }] },
        },
      };
      const existing = responsesOut[status] as { content?: Record<string, unknown> } | undefined;
      if (existing !== undefined) {
        existing.content = { ...(existing.content ?? {}), ...problemContent };
      } else {
        responsesOut[status] = {
          description: codes.map((c) => `${c}: ${ERROR_CODES[c].title}`).join('; '),
          headers: problemHeaders(status),
          content: problemContent,
        };
      }
    }

    const operation: Record<string, unknown> = {
      operationId,
      summary: doc.summary,
      ...(doc.description !== undefined ? { description: doc.description } : {}),
      tags: [doc.tag],
      security,
      ...(scopes.length > 0 ? { 'x-required-scopes': scopes } : {}),
      ...(parameters.length > 0 ? { parameters } : {}),
      ...(doc.body !== undefined ? { requestBody: requestBodyOf(doc.body, requests) } : {}),
      responses: responsesOut,
    };
    (paths[path] ??= {})[spec.method.toLowerCase()] = operation;
  }

  return {
    openapi: '3.1.1',
    info: {
      title: 'Continuum',
      version: options.version,
      summary: 'EHR-integration gateway for healthcare contact centers',
      description:
        'Caller lookup, scheduling and durable, exactly-once FHIR R4 writes that survive EHR outages. ' +
        'JSON in and out; writes also take application/x-www-form-urlencoded. Writes answer a receipt ' +
        '(202 + Location; `Prefer: wait=N` for the final one) and are made safe to retry by ' +
        '`Idempotency-Key`. Reads take `?shape=flat` for IVR flows. Errors are application/problem+json ' +
        '(RFC 9457) with a stable `code`. Every route but the public ones needs a credential holding ' +
        'one of the route’s scopes (`x-required-scopes`).',
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    servers: [{ url: '/' }],
    tags: TAGS.map(([name, description]) => ({ name, description })),
    paths,
    components: {
      schemas: {
        ...requests.toComponents('input'),
        ...responses.toComponents('output'),
        FlatShape: FLAT_SHAPE,
      },
      securitySchemes: securitySchemes(),
      parameters: PARAMETERS,
      headers: HEADERS,
    },
  };
}

function responseObject(response: ResponseDoc, schemas: SchemaSet, flat: boolean): Record<string, unknown> {
  const headers = Object.fromEntries(
    ['X-Request-Id', ...(response.headers ?? [])].map((h) => [h, { $ref: `#/components/headers/${h}` }]),
  );
  if (response.schema === undefined) {
    return {
      description: response.description,
      headers,
      ...(response.mediaType !== undefined
        ? { content: { [response.mediaType]: { schema: { type: 'string' } } } }
        : {}),
    };
  }
  const body = ref(schemas.add(response.schema));
  const schema = flat ? { anyOf: [body, ref('FlatShape')] } : body;
  return {
    description: response.description,
    headers,
    content: { [response.mediaType ?? 'application/json']: { schema } },
  };
}

function requestBodyOf(body: NonNullable<RouteDoc['body']>, schemas: SchemaSet): Record<string, unknown> {
  const schema = ref(schemas.add(body.schema));
  const mediaTypes = body.mediaTypes ?? [
    'application/json',
    ...(body.form ? ['application/x-www-form-urlencoded'] : []),
  ];
  return {
    required: body.required ?? false,
    content: Object.fromEntries(mediaTypes.map((type) => [type, { schema }])),
  };
}

function problemHeaders(status: string): Record<string, unknown> {
  const names = [
    'X-Request-Id',
    ...(status === '401' ? ['WWW-Authenticate'] : []),
    ...(['429', '503'].includes(status) ? ['Retry-After'] : []),
  ];
  return Object.fromEntries(names.map((h) => [h, { $ref: `#/components/headers/${h}` }]));
}

/** The problem codes a route can answer, grouped by HTTP status. */
function problemCodesByStatus(doc: RouteDoc, spec: RouteSpec): Map<string, ErrorCode[]> {
  const isApi = spec.path.startsWith('/v1/');
  const codes = new Set<ErrorCode>([
    ...(spec.access === 'public' ? [] : PROTECTED_PROBLEMS),
    ...(doc.query !== undefined || doc.path !== undefined || doc.body !== undefined
      ? (['VALIDATION'] as const)
      : []),
    ...(doc.body !== undefined && isApi ? BODY_PROBLEMS : []),
    ...(doc.write ? WRITE_PROBLEMS : []),
    ...(isApi ? (['NOT_READY'] as const) : []),
    ...(doc.problems ?? []),
    'INTERNAL',
  ]);
  // The OAuth endpoint answers RFC 6749 errors, documented as its own responses.
  if (spec.path === '/oauth/token') codes.delete('VALIDATION');
  const byStatus = new Map<string, ErrorCode[]>();
  for (const code of codes) {
    const status = String(ERROR_CODES[code].status);
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  for (const [status, also] of Object.entries(doc.problemsAt ?? {})) {
    const known = byStatus.get(status) ?? [];
    byStatus.set(status, [...known, ...also.filter((code) => !known.includes(code))]);
  }
  return byStatus;
}
