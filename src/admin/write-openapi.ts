// `npm run docs:openapi`: rewrites docs/openapi.json from the document the server serves,
// and the endpoints table of docs/admin-api.md from it.
import { readFileSync, writeFileSync } from 'node:fs';
import { adminOpenApi, OPENAPI_DOC } from './openapi.ts';
import { ADMIN_API_DOC, withEndpointsTable } from './openapi-docs.ts';

writeFileSync(OPENAPI_DOC, `${JSON.stringify(adminOpenApi(), null, 2)}\n`);
writeFileSync(ADMIN_API_DOC, withEndpointsTable(readFileSync(ADMIN_API_DOC, 'utf8')));
