/**
 * A test gateway whose one EHR connection reaches the gateway's own sandbox through a recording
 * proxy: the sandbox keeps its fault switch and its state, and the proxy shows every request the
 * gateway sent it.
 */
import { randomBytes } from 'node:crypto';
import { deriveSandboxCredential } from '../../src/wiring/sandbox-credential';
import { startRecordingProxy, type RecordingProxy } from './recording-proxy';
import { startTestGateway, type TestGateway } from './test-gateway';

export interface ProxiedGateway {
  readonly gw: TestGateway;
  readonly proxy: RecordingProxy;
  /** Requests the gateway sent with this method and a path (query included) matching `path`. */
  sent(method: string, path: RegExp): SentRequest[];
  stop(): Promise<void>;
}

type SentRequest = RecordingProxy['seen'][number];

export async function startProxiedGateway(
  options: { readonly name?: string; readonly connection?: Record<string, unknown> } = {},
): Promise<ProxiedGateway> {
  const proxy = await startRecordingProxy();
  // The connection reaches the built-in sandbox through the proxy, so it is not recognised as the
  // sandbox: it presents the sandbox's credential as a configured bearer token, as any EHR's would be.
  const dataKey = randomBytes(32);
  let gw: TestGateway;
  try {
    gw = await startTestGateway({
      overrides: {
        sandbox: { enabled: true, patientCount: 220 },
        encryption: { key: dataKey.toString('base64') },
        connections: {
          [options.name ?? 'ehr']: {
            baseUrl: `${proxy.origin}/sandbox/fhir`,
            auth: { type: 'bearer', token: deriveSandboxCredential(dataKey) },
            // Behind the proxy is the sandbox: its profile writes the sandbox's MRN system.
            sandboxEhr: true,
            maxWritesPerSecond: 0,
            ...options.connection,
          },
        },
      },
    });
  } catch (error) {
    await proxy.close();
    throw error;
  }
  proxy.setTarget(gw.url);
  return {
    gw,
    proxy,
    sent: (method, path) => proxy.seen.filter((s) => s.method === method && path.test(s.url)),
    stop: async () => {
      try {
        await gw.stop();
      } finally {
        await proxy.close();
      }
    },
  };
}
