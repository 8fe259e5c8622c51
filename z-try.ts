import { Validator } from '@seriousme/openapi-schema-validator';
import { buildOpenApiDocument } from './src/http/openapi/build-document';
import { routeTable } from './src/http/route-table';
async function main() {
  const doc = buildOpenApiDocument({ routes: routeTable({ sandboxChecksTokens: true }), version: '0.1.0', phoneRegion: 'US' });
  require('fs').writeFileSync('/tmp/wt-openapi-doc.json', JSON.stringify(doc, null, 1));
  const v = new Validator();
  const r = await v.validate(doc as object);
  console.log(r.valid, JSON.stringify(r.errors, null, 1)?.slice(0, 3000), v.version);
}
void main();
