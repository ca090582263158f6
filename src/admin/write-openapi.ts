// `npm run docs:openapi`: rewrites docs/openapi.json from the document the server serves.
import { writeFileSync } from 'node:fs';
import { adminOpenApi, OPENAPI_DOC } from './openapi.ts';

writeFileSync(OPENAPI_DOC, `${JSON.stringify(adminOpenApi(), null, 2)}\n`);
