/**
 * Stopping the HTTP server waits for requests in flight, but not for ever: a request that never ends
 * (a hung EHR behind it, a client that stalls) is cut after half the shutdown grace, so the rest of
 * the shutdown (queues, workers, Redis) still gets its time.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load-config';
import { projectRoot } from '../../src/project-root';
import { createLogger } from '../../src/observability/logger';
import { Closeables } from '../../src/wiring/closeables';
import { startHttpServer } from '../../src/wiring/http-server';
import { captureLogs } from '../support/log-capture';

it('cuts a request that never ends once the drain time is over, and a finished one is answered in full', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'continuum-drain-'));
  const logs = captureLogs();
  const logger = createLogger({ level: 'debug', destination: logs.stream, base: { role: 'api' } });
  const closeables = new Closeables(logger);
  try {
    const config = loadConfig({
      env: {},
      cwd: dataDir,
      builtInMappingsDir: join(projectRoot(), 'mappings'),
      overrides: { dataDir, server: { port: 0, host: '127.0.0.1', shutdownGraceMs: 2000 } },
    });
    const server = await startHttpServer(config, logger, closeables);
    const held: (() => void)[] = [];
    server.serve((req, res) => {
      if (req.url === '/never') return; // never answered
      // Answered 300 ms after the shutdown began: inside the drain time.
      held.push(() => res.end('done'));
    });
    const call = (path: string): Promise<string> =>
      new Promise((resolveCall) => {
        const req = httpRequest(`${server.url}${path}`, (res) => {
          let body = '';
          res.on('data', (chunk: Buffer) => (body += chunk.toString()));
          res.on('end', () => resolveCall(`${res.statusCode ?? 0} ${body}`));
          res.on('error', () => resolveCall('cut'));
        });
        req.on('error', () => resolveCall('cut'));
        req.end();
      });
    const never = call('/never');
    const finished = call('/finished');
    while (held.length === 0) await new Promise((r) => setImmediate(r));

    const closing = closeables.closeAll();
    setTimeout(() => held.forEach((answer) => answer()), 300);
    await closing;

    await expect(finished).resolves.toBe('200 done');
    await expect(never).resolves.toBe('cut');
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
