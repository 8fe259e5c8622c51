/**
 * A stand-in FHIR server that behaves like a careless EHR: it serves one patient, and its errors
 * quote the request (query string and body) in OperationOutcome diagnostics. Used to prove that
 * EHR error text never reaches Continuum's logs. Given `searchResults`, it answers every Patient
 * search with them, as an EHR with a loose (fuzzy) search would.
 */
import { createServer, type Server } from 'node:http';

export interface EchoEhr {
  readonly baseUrl: string;
  readonly requests: { method: string; url: string }[];
  close(): Promise<void>;
}

export async function startEchoEhr(
  patient: Record<string, unknown>,
  options: { readonly searchResults?: readonly Record<string, unknown>[] } = {},
): Promise<EchoEhr> {
  const requests: { method: string; url: string }[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('end', () => {
      requests.push({ method: req.method ?? '', url: req.url ?? '' });
      const send = (status: number, value: unknown): void => {
        res.writeHead(status, { 'content-type': 'application/fhir+json' });
        res.end(JSON.stringify(value));
      };
      const outcome = (text: string) => ({
        resourceType: 'OperationOutcome',
        issue: [{ severity: 'error', code: 'invalid', diagnostics: `Rejected: ${text}` }],
      });
      const url = req.url ?? '';
      if (url.startsWith('/metadata'))
        return send(200, { resourceType: 'CapabilityStatement', status: 'active', fhirVersion: '4.0.1' });
      if (req.method === 'GET' && url.startsWith(`/Patient/${String(patient.id)}`)) return send(200, patient);
      if (req.method === 'GET' && url.startsWith('/Patient?') && options.searchResults !== undefined) {
        return send(200, {
          resourceType: 'Bundle',
          type: 'searchset',
          total: options.searchResults.length,
          entry: options.searchResults.map((resource) => ({ resource, search: { mode: 'match' } })),
        });
      }
      if (req.method === 'GET') return send(400, outcome(decodeURIComponent(url)));
      return send(422, outcome(body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
