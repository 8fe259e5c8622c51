import { createHash, timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { SandboxEhrOptions } from './sandbox-ehr';
import type { CapacityControl } from './capacity-gate';
import type { FaultControl } from './fault-switch';
import type { SandboxAuthControl } from './sandbox-auth';
import { createSandboxEhr } from './sandbox-ehr';
import { SANDBOX_AUTH_PATH, SANDBOX_TOKEN_PATH } from './token-endpoint';

/** Where the FHIR API lives, in the gateway and stand-alone alike, so client configuration is the same. */
export const SANDBOX_FHIR_PATH = '/sandbox/fhir';
/** Where the control API (fault switch) lives, next to the FHIR API. */
export const SANDBOX_ADMIN_PATH = '/sandbox/admin';

export interface SandboxServer {
  /** Absolute FHIR base URL, e.g. `http://127.0.0.1:8090/sandbox/fhir`. */
  readonly url: string;
  /** The fault switch of this server's sandbox, for tests in the same process. */
  readonly faults: FaultControl;
  /** The capacity mode's figures and their reset, for tests in the same process. */
  readonly capacity: CapacityControl;
  /** The OAuth client's state and drill switches (revoke, invalidate tokens), for tests in the same process. */
  readonly auth: SandboxAuthControl;
  /** The token endpoint's absolute URL (served only when an auth mode is set). */
  readonly tokenUrl: string;
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
    /**
     * When set, the control API needs `Authorization: Bearer <token>`, and so does the FHIR API unless an
     * auth mode is set (then it takes the tokens of its own token endpoint instead).
     */
    token?: string;
  },
): Promise<SandboxServer> {
  const host = options.host ?? '127.0.0.1';
  const sandbox = await createSandboxEhr(options);
  const app = express();
  app.disable('x-powered-by');
  if (options.token !== undefined) {
    const expected = createHash('sha256').update(`Bearer ${options.token}`).digest();
    const guarded = sandbox.authRouter ? [SANDBOX_ADMIN_PATH] : [SANDBOX_FHIR_PATH, SANDBOX_ADMIN_PATH];
    app.use(guarded, (req, res, next) => {
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
  if (sandbox.authRouter) app.use(SANDBOX_AUTH_PATH, sandbox.authRouter);
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
      capacity: `${req.protocol}://${req.get('host') ?? host}${SANDBOX_ADMIN_PATH}/capacity`,
      ...(sandbox.authRouter
        ? {
            smartConfiguration: `${base}/.well-known/smart-configuration`,
            tokenEndpoint: `${req.protocol}://${req.get('host') ?? host}${SANDBOX_TOKEN_PATH}`,
          }
        : {}),
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
    tokenUrl: `http://${urlHost}:${String(address.port)}${SANDBOX_TOKEN_PATH}`,
    faults: sandbox.faults,
    capacity: sandbox.capacity,
    auth: sandbox.auth,
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
