/** The OpenAPI document of this gateway and where the page that renders it finds its script. */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { buildOpenApiDocument } from '../http/openapi/build-document';
import { servedRoutes, type SandboxServing } from '../http/openapi/served-routes';
import type { ApiDocs } from '../http/routes/docs.routes';
import type { CountryCode } from '../phone';
import { projectRoot } from '../project-root';

export function apiDocs(options: {
  readonly sandbox: SandboxServing;
  readonly phoneRegion: CountryCode;
}): ApiDocs {
  const { version } = JSON.parse(readFileSync(join(projectRoot(), 'package.json'), 'utf8')) as {
    version: string;
  };
  return {
    document: buildOpenApiDocument({
      routes: servedRoutes(options.sandbox),
      version,
      phoneRegion: options.phoneRegion,
    }),
    rendererDir: dirname(require.resolve('@scalar/api-reference/browser/standalone.js')),
  };
}
