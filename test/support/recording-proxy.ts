/**
 * An HTTP proxy on loopback in front of a FHIR server: it records every request a gateway sends
 * (so tests can assert what reached the EHR, and what did not) and can run a step of the test just
 * before one chosen request is forwarded (a front-desk edit landing between a read and a write).
 * The target can be set after start-up, because a gateway's own sandbox port is known only then.
 */
import { createServer, request, type Server } from 'node:http';

export interface SeenRequest {
  readonly method: string;
  /** Path and query, as sent. */
  readonly url: string;
  readonly ifMatch: string | undefined;
  readonly ifNoneExist: string | undefined;
}

export interface RecordingProxy {
  /** `http://127.0.0.1:<port>`: requests are forwarded to the target with the same path. */
  readonly origin: string;
  readonly seen: SeenRequest[];
  /** Where requests go from now on (until then they answer 503). */
  setTarget(origin: string): void;
  /** Holds the first request matching `when`, runs `step`, then forwards the request. */
  interceptOnce(when: (request: SeenRequest) => boolean, step: () => Promise<void>): void;
  /**
   * A hung EHR: from now on every request is accepted and never answered, until `resume()`.
   * Requests held this way stay unanswered even after; the gateway's own deadline ends them.
   */
  hang(): void;
  resume(): void;
  /** Requests held by a hang whose sender has not given up on them yet. */
  stillWaiting(): SeenRequest[];
  close(): Promise<void>;
}

export async function startRecordingProxy(): Promise<RecordingProxy> {
  const seen: SeenRequest[] = [];
  let target: URL | undefined;
  const intercepts: { when: (r: SeenRequest) => boolean; step: () => Promise<void> }[] = [];
  let hung = false;
  const waiting = new Set<SeenRequest>();

  const server: Server = createServer((req, res) => {
    const entry: SeenRequest = {
      method: req.method ?? '',
      url: req.url ?? '',
      ifMatch: req.headers['if-match'],
      ifNoneExist: req.headers['if-none-exist'] as string | undefined,
    };
    seen.push(entry);
    if (hung) {
      waiting.add(entry);
      // The sender giving up (its deadline) closes the socket: only then is the request no longer waiting.
      res.on('close', () => waiting.delete(entry));
      return;
    }
    const forward = (): void => {
      if (target === undefined) {
        res.writeHead(503).end();
        return;
      }
      const upstream = request(
        { host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      upstream.on('error', () => res.destroy());
      req.pipe(upstream);
    };
    const index = intercepts.findIndex((i) => i.when(entry));
    const intercept = index === -1 ? undefined : intercepts.splice(index, 1)[0];
    if (intercept === undefined) {
      forward();
      return;
    }
    // The request body waits in the socket meanwhile: nothing reads it until forward() pipes it.
    intercept.step().then(forward, () => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    origin: `http://127.0.0.1:${port}`,
    seen,
    setTarget: (origin) => {
      target = new URL(origin);
    },
    interceptOnce: (when, step) => {
      intercepts.push({ when, step });
    },
    hang: () => {
      hung = true;
    },
    resume: () => {
      hung = false;
    },
    stillWaiting: () => [...waiting],
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
