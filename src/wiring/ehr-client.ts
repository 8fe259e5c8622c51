/** The FHIR client of one EHR connection: the gateway's and the CLI's, built the same way. */
import { createFhirR4Client, type EhrAuth } from '../../adapters/ehr/fhir-r4/fhir-r4-client';
import type { ResolvedConnection } from '../config/load-config';
import type { EhrTokenProvider } from '../domain/ehr-sign-in';
import type { EhrClient, Logger } from '../domain/ports';

export function createEhrClient(
  connection: ResolvedConnection,
  baseUrl: string,
  options: {
    /** What a connection to the built-in sandbox presents (see sandbox-credential.ts). */
    readonly sandboxCredential: string;
    readonly defaultDeadlineMs?: number;
    /** The access tokens of a connection that signs in with OAuth (see ehr-credentials.ts). */
    readonly tokens?: EhrTokenProvider;
    /** Told when a search stops before its last page. */
    readonly logger?: Logger;
  },
): EhrClient {
  return createFhirR4Client({
    connection: connection.name,
    baseUrl: baseUrl.replace(/\/+$/, ''),
    auth: clientAuth(connection, options),
    defaultDeadlineMs: options.defaultDeadlineMs ?? connection.readDeadlineMs,
    allowedPageOrigins: connection.paging.allowedOrigins,
    ...(options.logger !== undefined ? { logger: options.logger } : {}),
  });
}

function clientAuth(
  connection: ResolvedConnection,
  options: { readonly sandboxCredential: string; readonly tokens?: EhrTokenProvider },
): EhrAuth {
  const auth = connection.auth;
  switch (auth.type) {
    case 'none':
      return connection.sandbox ? { type: 'bearer', token: options.sandboxCredential } : auth;
    case 'basic':
    case 'bearer':
      return auth;
    case 'client-credentials':
    case 'smart-backend':
      if (options.tokens === undefined) {
        throw new Error(`connection ${connection.name}: ${auth.type} needs its token source`);
      }
      return { type: 'oauth', tokens: options.tokens };
  }
}

/** Where a connection's EHR is: its configured URL, else the built-in sandbox on this gateway's port. */
export function ehrBaseUrl(connection: ResolvedConnection, sandboxPort: number): string {
  return connection.baseUrl ?? `http://127.0.0.1:${sandboxPort}/sandbox/fhir`;
}
