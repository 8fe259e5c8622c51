import { createHash, timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { SandboxEhrOptions } from './sandbox-ehr';
import type { FaultControl } from './fault-switch';
import { createSandboxEhr } from './sandbox-ehr';

/** Where the FHIR API lives, in the gateway and stand-alone alike, so client configuration is the same. */
export const SANDBOX_FHIR_PATH = '/sandbox/fhir';
/** Where the control API (fault switch) lives, next to the FHIR API. */
export const SANDBOX_ADMIN_PATH = '/sandbox/admin';

export interface SandboxServer {
  /** Absolute FHIR base URL, e.g. `http://127.0.0.1:8090/sandbox/fhir`. */
  readonly url: string;
  /** The fault switch of this server's sandbox, for tests in the same process. */
  readonly faults: FaultControl;
  close(): Promise<void>;
}

/**
 * Stand-alone sandbox EHR for `continuum sandbox --port N`: the FHIR API at /sandbox/fhir, the fault switch at
 * /sandbox/admin/faults, a guide at `/`.
 */
export async function startSandboxServer(
  options: SandboxEhrOptions & {
    port: number;
    host?: string;
    /** When set, the FHIR and control APIs need `Authorization: Bearer <token>`. */
    token?: string;
  },
): Promise<SandboxServer> {
  const host = options.host ?? '127.0.0.1';
  const sandbox = await createSandboxEhr(options);
  const app = express();
  app.disable('x-powered-by');
  if (options.token !== undefined) {
    const expected = createHash('sha256').update(`Bearer ${options.token}`).digest();
    app.use([SANDBOX_FHIR_PATH, SANDBOX_ADMIN_PATH], (req, res, next) => {
      const given = createHash('sha256')
        .update(req.get('authorization') ?? '')
        .digest();
      if (timingSafeEqual(given, expected)) {
        next();
        return;
      }
      res
        .status(401)
        .setHeader('WWW-Authenticate', 'Bearer realm="continuum-sandbox"')
        .type('application/problem+json')
        .send(
          JSON.stringify({
            type: 'https://continuum.dev/problems/unauthorized',
            title: 'The request carries no valid credential',
            status: 401,
            code: 'UNAUTHORIZED',
            detail: "send the sandbox's token as Authorization: Bearer",
          }),
        );
    });
  }
  app.use(SANDBOX_FHIR_PATH, sandbox.router);
  app.use(SANDBOX_ADMIN_PATH, sandbox.adminRouter);
  app.get('/', (req, res) => {
    const base = `${req.protocol}://${req.get('host') ?? host}${SANDBOX_FHIR_PATH}`;
    res.json({
      name: 'Continuum sandbox EHR',
      fhirVersion: '4.0.1',
      fhirBaseUrl: base,
      capabilityStatement: `${base}/metadata`,
      examples: [`${base}/Patient?family=Smith`, `${base}/Slot?status=free&_count=10`],
      counts: sandbox.stats(),
      faults: `${req.protocol}://${req.get('host') ?? host}${SANDBOX_ADMIN_PATH}/faults`,
    });
  });

  const server = app.listen(options.port, host);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const address = server.address() as AddressInfo;
  const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${urlHost}:${String(address.port)}${SANDBOX_FHIR_PATH}`,
    faults: sandbox.faults,
    close: async () => {
      await new Promise<void>((resolve, reject) => {
        server.close((err) => {
          if (err) {
            reject(err);
          } else {
            resolve();
          }
        });
        server.closeAllConnections();
      });
      await sandbox.close();
    },
  };
}
