/**
 * An HTTP proxy on loopback in front of a FHIR server that behaves like an EHR behind a load
 * balancer: the `next` links of its search pages name another origin (its internal address). It
 * can also shrink the page size the client asked for, so a handful of records spans several
 * pages. It records what reached it and whether a credential came along.
 */
import { createServer, request, type Server } from 'node:http';

export interface ProxiedRequest {
  readonly method: string;
  /** Path and query, as received. */
  readonly url: string;
  readonly authorized: boolean;
}

export interface NextLinkProxy {
  /** `http://127.0.0.1:<port>`. */
  readonly origin: string;
  readonly seen: ProxiedRequest[];
  /** Where requests are forwarded (same path). */
  setTarget(origin: string): void;
  /** The origin `next` links are rewritten to; undefined leaves them as the server wrote them. */
  setNextOrigin(origin: string | undefined): void;
  close(): Promise<void>;
}

interface BundleLike {
  resourceType?: unknown;
  link?: { relation?: unknown; url?: unknown }[];
}

export async function startNextLinkProxy(
  options: { readonly pageSize?: number } = {},
): Promise<NextLinkProxy> {
  const seen: ProxiedRequest[] = [];
  let target: URL | undefined;
  let nextOrigin: string | undefined;

  const rewrite = (body: string): string => {
    let bundle: BundleLike;
    try {
      bundle = JSON.parse(body) as BundleLike;
    } catch {
      return body;
    }
    if (bundle.resourceType !== 'Bundle' || nextOrigin === undefined) return body;
    for (const link of bundle.link ?? []) {
      if (link.relation === 'next' && typeof link.url === 'string') {
        const url = new URL(link.url);
        link.url = `${nextOrigin}${url.pathname}${url.search}`;
      }
    }
    return JSON.stringify(bundle);
  };

  const server: Server = createServer((req, res) => {
    let path = req.url ?? '';
    seen.push({ method: req.method ?? '', url: path, authorized: req.headers.authorization !== undefined });
    if (target === undefined) {
      res.writeHead(503).end();
      return;
    }
    if (options.pageSize !== undefined) path = path.replace(/([?&]_count=)\d+/, `$1${options.pageSize}`);
    // Plain bodies only: the proxy edits them.
    const { 'accept-encoding': _encoding, ...headers } = req.headers;
    const upstream = request(
      { host: target.hostname, port: target.port, path, method: req.method, headers },
      (answer) => {
        const chunks: Buffer[] = [];
        answer.on('data', (chunk: Buffer) => chunks.push(chunk));
        answer.on('end', () => {
          const body = rewrite(Buffer.concat(chunks).toString('utf8'));
          const { 'content-length': _length, 'transfer-encoding': _transfer, ...kept } = answer.headers;
          res.writeHead(answer.statusCode ?? 502, { ...kept, 'content-length': Buffer.byteLength(body) });
          res.end(body);
        });
        answer.on('error', () => res.destroy());
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
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
    setNextOrigin: (origin) => {
      nextOrigin = origin;
    },
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
