/**
 * The yardstick for write acceptance: an express 5 app that does only what any queue-backed write
 * endpoint must (parse JSON, validate the body with the gateway's own schema, `Queue.add`, answer
 * 202), and none of what Continuum adds (idempotency, sealing, the operation record, lanes, the
 * existence check, logging). Run as its own process by `run.ts`, on the same Redis:
 * `node dist/bench/bare-acceptance-server.js <port> <redis-url>`.
 */
import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import express from 'express';
import { Redis } from 'ioredis';
import { patientChangesSchema } from '../src/http/schemas/patient-changes.schema';

async function main(): Promise<void> {
  const [port, redisUrl] = process.argv.slice(2);
  if (port === undefined || redisUrl === undefined) throw new Error('usage: <port> <redis-url>');
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue('bench-bare', { connection, prefix: '{bench-bare}' });
  await queue.waitUntilReady();
  const schema = patientChangesSchema('US');

  const app = express();
  app.use(express.json({ limit: '64kb' }));
  app.get('/readyz', (_req, res) => {
    res.json({ ready: true });
  });
  app.patch('/v1/patients/:id', (req, res, next) => {
    const parsed = schema.safeParse(req.body);
    if (!parsed.success) {
      res.status(400).json({ code: 'VALIDATION' });
      return;
    }
    const operationId = randomUUID();
    queue
      .add(
        'patient.update',
        { operationId, patientId: req.params.id, changes: parsed.data },
        { jobId: operationId },
      )
      .then(() => {
        res.status(202).json({ operationId, status: 'queued' });
      })
      .catch(next);
  });
  const server = app.listen(Number(port), '127.0.0.1');
  const stop = async (): Promise<void> => {
    server.close();
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
    connection.disconnect();
  };
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      stop().catch((error: unknown) => {
        console.error(error);
        process.exitCode = 1;
      });
    });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
