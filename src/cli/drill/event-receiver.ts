/**
 * A subscriber for the drill on loopback: it checks each event's Standard Webhooks signature and
 * counts what arrived, so the report can say whether the events of the drill's writes were delivered
 * (once per event id, however often it was retried).
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { Webhook } from 'standardwebhooks';

export interface EventReceiver {
  readonly url: string;
  readonly secret: string;
  /** Distinct event ids received with a valid signature, by type. */
  readonly byType: () => Record<string, number>;
  /** Operation ids that an `operation.*` event was received for. */
  readonly operations: ReadonlySet<string>;
  readonly deliveries: () => { received: number; distinct: number; badSignature: number };
  close(): Promise<void>;
}

export async function startEventReceiver(): Promise<EventReceiver> {
  const secret = `whsec_${randomBytes(24).toString('base64')}`;
  const verifier = new Webhook(secret);
  const seen = new Map<string, string>();
  const operations = new Set<string>();
  let received = 0;
  let badSignature = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received++;
      const body = Buffer.concat(chunks).toString('utf8');
      const headers = {
        'webhook-id': String(req.headers['webhook-id'] ?? ''),
        'webhook-timestamp': String(req.headers['webhook-timestamp'] ?? ''),
        'webhook-signature': String(req.headers['webhook-signature'] ?? ''),
      };
      let event: { type?: unknown; data?: { operationId?: unknown } };
      try {
        event = verifier.verify(body, headers) as typeof event;
      } catch {
        badSignature++;
        res.writeHead(401).end();
        return;
      }
      if (typeof event.type === 'string') seen.set(headers['webhook-id'], event.type);
      const operationId = event.data?.operationId;
      if (
        typeof event.type === 'string' &&
        event.type.startsWith('operation.') &&
        typeof operationId === 'string'
      ) {
        operations.add(operationId);
      }
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/drill-events`,
    secret,
    operations,
    byType: () => {
      const out: Record<string, number> = {};
      for (const type of seen.values()) out[type] = (out[type] ?? 0) + 1;
      return out;
    },
    deliveries: () => ({ received, distinct: seen.size, badSignature }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}
