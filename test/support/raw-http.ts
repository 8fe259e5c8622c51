/**
 * One request through node:http exactly as written: fetch and supertest resolve `.` and `..` path
 * segments themselves, and will not send a Content-Length they did not compute.
 */
import { request } from 'node:http';
import { withCredential } from './credentials';

export type RawOutcome =
  | { readonly status: number; readonly headers: Record<string, string | string[] | undefined> }
  | { readonly closed: true }
  | { readonly hang: true };

/**
 * With a `content-length` header the request is left open after `body`: the headers may promise
 * more bytes than are sent (a short body), and only the server can end the exchange.
 */
export async function rawRequest(
  baseUrl: string,
  options: {
    readonly method: string;
    readonly path: string;
    readonly headers?: Record<string, string>;
    readonly body?: string;
    readonly deadlineMs: number;
    readonly anonymous?: boolean;
  },
): Promise<RawOutcome> {
  const { hostname, port } = new URL(baseUrl);
  const headers = withCredential(baseUrl, options.headers, options.anonymous);
  return new Promise((resolveOutcome, reject) => {
    const req = request({ hostname, port, method: options.method, path: options.path, headers });
    const timer = setTimeout(() => {
      req.destroy();
      resolveOutcome({ hang: true });
    }, options.deadlineMs);
    req.on('response', (res) => {
      clearTimeout(timer);
      res.resume();
      resolveOutcome({ status: res.statusCode ?? 0, headers: res.headers });
    });
    req.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      // The server closing the socket on a request it gave up on is an answer too.
      if (error.code === 'ECONNRESET' || error.message === 'socket hang up') resolveOutcome({ closed: true });
      else reject(error);
    });
    if (options.body !== undefined) req.write(options.body);
    if (headers['content-length'] === undefined) req.end();
  });
}
