/** The FHIR client of one EHR connection: the gateway's and the CLI's, built the same way. */
import { createFhirR4Client } from '../../adapters/ehr/fhir-r4/fhir-r4-client';
import type { ResolvedConnection } from '../config/load-config';
import type { EhrClient, Logger } from '../domain/ports';

export function createEhrClient(
  connection: ResolvedConnection,
  baseUrl: string,
  options: {
    /** What a connection to the built-in sandbox presents (see sandbox-credential.ts). */
    readonly sandboxCredential: string;
    readonly defaultDeadlineMs?: number;
    /** Told when a search stops before its last page. */
    readonly logger?: Logger;
  },
): EhrClient {
  return createFhirR4Client({
    connection: connection.name,
    baseUrl: baseUrl.replace(/\/+$/, ''),
    auth:
      connection.sandbox && connection.auth.type === 'none'
        ? { type: 'bearer', token: options.sandboxCredential }
        : connection.auth,
    defaultDeadlineMs: options.defaultDeadlineMs ?? connection.readDeadlineMs,
    allowedPageOrigins: connection.paging.allowedOrigins,
    ...(options.logger !== undefined ? { logger: options.logger } : {}),
  });
}

/** Where a connection's EHR is: its configured URL, else the built-in sandbox on this gateway's port. */
export function ehrBaseUrl(connection: ResolvedConnection, sandboxPort: number): string {
  return connection.baseUrl ?? `http://127.0.0.1:${sandboxPort}/sandbox/fhir`;
}
