/** How a client proves who it is, in OpenAPI terms, and what each route asks of it. */
import type { Scope } from '../../domain/access';
import { scopesOf, type RouteAccess } from '../route-table';

const SCOPE_DESCRIPTIONS: Readonly<Record<Scope, string>> = {
  'patients:lookup': 'Whether a number belongs to one patient and which id; verify identity',
  'patients:read': 'Demographics, summaries and lookups with details',
  'patients:write': 'Register patients and correct their contact details',
  'appointments:read': "Free slots and a patient's appointments",
  'appointments:write': 'Book, cancel, confirm and reschedule appointments',
  'calls:write': 'Log calls and request callbacks',
  'operations:read': 'Receipts of writes and the pipeline status',
  'operations:admin': 'Retry, cancel and replay writes',
  'events:admin': 'Event subscribers and the replay of their dead letters',
  'sandbox:admin': "The built-in sandbox EHR's FHIR API and its fault switch",
  'audit:read': "The tenant's audit trail",
  'metrics:read': 'Prometheus metrics of the gateway (counts and states, never PHI)',
  'writes:urgent': 'Send a write ahead of routine work with `Prefer: priority=urgent` (supervisors)',
  'crisis:admin': 'Activate and end crises, close sites, publish notices (crisis leads)',
  'mappings:write':
    'Explain and try mapping profiles on records, save fixtures and rules, reload profiles (integration engineers)',
};

const SCHEMES = ['bearer', 'basic', 'apiKey', 'oauth2'] as const;

export function securitySchemes(): Record<string, object> {
  return {
    bearer: {
      type: 'http',
      scheme: 'bearer',
      description: 'An API key (`ck_...`) or an access token from POST /oauth/token',
    },
    basic: {
      type: 'http',
      scheme: 'basic',
      description: 'Client id and key as user and password (Twilio Studio, Genesys data actions)',
    },
    apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'An API key' },
    oauth2: {
      type: 'oauth2',
      description: 'Client credentials; the token is then sent as Bearer',
      flows: { clientCredentials: { tokenUrl: '/oauth/token', scopes: { ...SCOPE_DESCRIPTIONS } } },
    },
  };
}

/**
 * Any one scope of a route opens it, with any scheme: one requirement per scheme and scope (a
 * requirement listing two scopes would demand both). Public routes require nothing.
 */
export function operationSecurity(access: RouteAccess): {
  readonly security: Record<string, string[]>[];
  readonly scopes: readonly Scope[];
} {
  if (access === 'public') return { security: [], scopes: [] };
  const scopes = scopesOf(access);
  return {
    security: scopes.flatMap((scope) => SCHEMES.map((scheme) => ({ [scheme]: [scope] }))),
    scopes,
  };
}
