// Usage text, written from the command table so it cannot miss a command or a flag.
import { argumentsOf, COMMANDS, type Command } from './commands.ts';

const ENVIRONMENT = `Environment:
  POSTERN_URL              the server, e.g. https://id.example.com (plain http only to this machine,
                           unless POSTERN_ALLOW_HTTP=true)
  POSTERN_ADMIN_TOKEN      the server's ADMIN_TOKEN (never printed)
  POSTERN_TIMEOUT_SECONDS  how long to wait for each answer (default 30)

Exit codes: 0 done, 1 the server refused or could not be reached, 2 a usage mistake (nothing sent).
`;

export function usageLine(command: Command): string {
  const parts = [`postern ${command.words.join(' ')}`, ...argumentsOf(command).map((a) => `<${a}>`)];
  if (command.body) parts.push('[--set field=value]...', '[--body FILE|-]');
  for (const [flag, f] of Object.entries(command.fields ?? {})) parts.push(`[--${flag} VALUE]${f.type === 'list' ? '...' : ''}`);
  for (const [flag, q] of Object.entries(command.query ?? {})) parts.push(q.boolean ? `[--${flag}]` : `[--${flag} VALUE]`);
  if (command.paging) parts.push('[--limit N | --all]');
  if (command.confirm) parts.push('--yes');
  parts.push('[--json]');
  return parts.join(' ');
}

export function overview(): string {
  const width = Math.max(...COMMANDS.map((c) => c.words.join(' ').length));
  const lines = COMMANDS.map((c) => `  ${c.words.join(' ').padEnd(width)}  ${c.summary}`);
  return `Usage: postern <command> [arguments] [--json]

Manages a Postern server through its admin API.

Commands:
${lines.join('\n')}

Run "postern <command> --help" for a command's arguments and an example.
Output is a table for people; --json prints the server's JSON for scripts (e.g. | jq).

${ENVIRONMENT}`;
}

export function groupHelp(group: string): string {
  const commands = COMMANDS.filter((c) => c.words[0] === group);
  return `Commands of postern ${group}:\n${commands.map((c) => `  ${usageLine(c)}\n      ${c.summary}`).join('\n')}\n`;
}

export function commandHelp(command: Command): string {
  const flags: [string, string][] = [];
  if (command.body) {
    flags.push(
      ['--set field=value', "set one field of the request body, typed as the server's API document says (repeat; a list field takes one item per use)"],
      ['--set field:=JSON', 'set one field to a JSON value, e.g. --set redirect_uris:=\'["https://a.example/cb"]\''],
      ['--body FILE', 'start from the JSON object in FILE ("-": stdin); --set and the flags below change it'],
    );
  }
  for (const [flag, f] of Object.entries(command.fields ?? {})) flags.push([`--${flag} VALUE`, `${f.help} (= --set ${f.field}=VALUE)`]);
  for (const [flag, q] of Object.entries(command.query ?? {})) flags.push([q.boolean ? `--${flag}` : `--${flag} VALUE`, q.help]);
  if (command.paging) {
    flags.push(['--limit N', `how many to show (default ${command.paging.defaultLimit}); fetched in pages of up to ${command.paging.maxPage}`], ['--all', 'every one']);
  }
  if (command.confirm) flags.push(['--yes', 'confirm: this cannot be undone']);
  flags.push(['--json', "print the server's JSON instead of a table"]);
  const width = Math.max(...flags.map(([f]) => f.length));
  return `Usage: ${usageLine(command)}

${command.summary}.

${flags.map(([f, h]) => `  ${f.padEnd(width)}  ${h}`).join('\n')}

Example:
  ${command.example}
`;
}
