// The settings table of docs/configuration.md, rendered from the declarations so the docs
// cannot drift from what loadConfig does. `npm run docs:settings` writes it; the config test
// fails while the file holds anything else.
import { SETTINGS, type DeclaredSetting } from './settings.ts';

export const CONFIGURATION_DOC = new URL('../docs/configuration.md', import.meta.url);
const START = '<!-- settings:start -->';
const END = '<!-- settings:end -->';

function shownDefault(setting: DeclaredSetting): string {
  const d = setting.default;
  const shown =
    d === 'generated' ? 'generated in development'
    : 'derive' in d ? d.shown
    : d.value === undefined ? 'none'
    : `\`${String(d.value)}\``;
  return setting.requiredInProduction ? `${shown}; **required in production**` : shown;
}

/** A markdown table cell: a `|` would end the cell early. */
const cell = (text: string) => text.replaceAll('|', '\\|');

export function settingsTable(): string {
  return [
    '| Setting | Default | Allowed | Meaning |',
    '| --- | --- | --- | --- |',
    ...SETTINGS.map((s) => `| \`${s.name}\` | ${cell(shownDefault(s))} | ${cell(s.parser.allowed)} | ${cell(s.description)} |`),
  ].join('\n');
}

/** `doc` with the text between the settings markers replaced by the current table. */
export function withSettingsTable(doc: string): string {
  const start = doc.indexOf(START);
  const end = doc.indexOf(END);
  if (start < 0 || end < start) throw new Error(`docs/configuration.md needs the markers ${START} and ${END}`);
  return `${doc.slice(0, start + START.length)}\n${settingsTable()}\n${doc.slice(end)}`;
}
