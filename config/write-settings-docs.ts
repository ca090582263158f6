// `npm run docs:settings`: rewrites the settings table in docs/configuration.md from the
// declarations in settings.ts.
import { readFileSync, writeFileSync } from 'node:fs';
import { CONFIGURATION_DOC, withSettingsTable } from './settings-table.ts';

writeFileSync(CONFIGURATION_DOC, withSettingsTable(readFileSync(CONFIGURATION_DOC, 'utf8')));
