// `postern …`: finds the command in the table, reads its arguments, sends its request and
// shows the answer. Returns the exit code (cli-errors.ts); never prints the admin token.
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';
import { pathFor, request, targetFrom, type Target } from './admin-client.ts';
import { EXIT, RequestFailed, UsageError } from './cli-errors.ts';
import { argumentsOf, COMMANDS, SHOWN_ONCE, type Command } from './commands.ts';
import { bodySchema } from './field-types.ts';
import { commandHelp, groupHelp, overview } from './help.ts';
import { record, rowsTable } from './render.ts';
import { buildBody, parseSet, readBodyArg, type FieldValue } from './request-body.ts';
import { clean } from './terminal-text.ts';

export interface Io {
  readonly env: NodeJS.ProcessEnv;
  readonly stdin: NodeJS.ReadableStream;
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
}

type Values = Record<string, string | boolean | (string | boolean)[] | undefined>;
type Json = Record<string, unknown>;

const GLOBAL_FLAGS = new Set(['--json', '--help', '-h']);

export async function run(argv: readonly string[], given: Io): Promise<number> {
  const io = redacting(given);
  try {
    return await dispatch(argv, io);
  } catch (error) {
    if (error instanceof UsageError) {
      const more = error.command ? `postern ${error.command} --help` : 'postern --help';
      io.err(`postern: ${error.message}\nRun "${more}" for usage.\n`);
      return EXIT.usage;
    }
    if (error instanceof RequestFailed) {
      io.err(`postern: ${error.message}\n`);
      return EXIT.failed;
    }
    throw error;
  }
}

/**
 * Output with the admin token replaced wherever it appears: the CLI never prints it, but
 * a server or proxy in between might echo the request (a debugging echo service, an error
 * page that lists the request headers), and that text is printed.
 */
function redacting(io: Io): Io {
  const token = io.env.POSTERN_ADMIN_TOKEN?.trim();
  if (!token) return io;
  // As written, and as JSON (`--json` escapes `"` and `\`) and a URL would carry it.
  const spellings = [...new Set([token, JSON.stringify(token).slice(1, -1), encodeURIComponent(token)])];
  const hide = (text: string) => spellings.reduce((out, spelling) => out.replaceAll(spelling, '[POSTERN_ADMIN_TOKEN]'), text);
  return { ...io, out: (text) => io.out(hide(text)), err: (text) => io.err(hide(text)) };
}

/** The command the words name, and the arguments after them (flags before the words kept). */
function find(argv: readonly string[]): { command?: Command; group?: string; rest: string[] } {
  let start = 0;
  while (start < argv.length && GLOBAL_FLAGS.has(argv[start]!)) start++;
  const leading = argv.slice(0, start);
  const words = argv.slice(leading.length);
  const group = words[0];
  if (group === undefined || group.startsWith('-')) {
    if (group !== undefined) throw new UsageError(`unknown option ${clean(group)} before the command.`);
    return { rest: leading };
  }
  const family = COMMANDS.filter((c) => c.words[0] === group);
  if (family.length === 0) throw new UsageError(`unknown command "${clean(group)}".`);
  const single = family.find((c) => c.words.length === 1);
  if (single) return { command: single, rest: [...leading, ...words.slice(1)] };
  const name = words[1];
  if (name === undefined || name.startsWith('-')) return { group, rest: [...leading, ...words.slice(1)] };
  const command = family.find((c) => c.words[1] === name);
  if (!command) throw new UsageError(`unknown command "${clean(`${group} ${name}`)}"; ${group} has ${family.map((c) => c.words[1]).join(', ')}.`);
  return { command, rest: [...leading, ...words.slice(2)] };
}

function optionsOf(command: Command): ParseArgsOptionsConfig {
  const options: ParseArgsOptionsConfig = { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } };
  if (command.body) Object.assign(options, { set: { type: 'string', multiple: true }, body: { type: 'string' } });
  for (const flag of Object.keys(command.fields ?? {})) options[flag] = { type: 'string', multiple: true };
  for (const [flag, q] of Object.entries(command.query ?? {})) options[flag] = { type: q.boolean ? 'boolean' : 'string' };
  if (command.paging) Object.assign(options, { limit: { type: 'string' }, all: { type: 'boolean' } });
  if (command.confirm) options.yes = { type: 'boolean' };
  return options;
}

async function dispatch(argv: readonly string[], io: Io): Promise<number> {
  const { command, group, rest } = find(argv);
  const wantsHelp = rest.includes('--help') || rest.includes('-h');
  if (!command) {
    if (!wantsHelp) throw new UsageError(group ? `${group} needs a command.` : 'no command given.', group);
    io.out(group ? groupHelp(group) : overview());
    return EXIT.ok;
  }
  const name = command.words.join(' ');
  let values: Values;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({ args: [...rest], options: optionsOf(command), strict: true, allowPositionals: true }));
  } catch (error) {
    throw new UsageError(clean((error as Error).message), name);
  }
  if (values.help) {
    io.out(commandHelp(command));
    return EXIT.ok;
  }
  const names = argumentsOf(command);
  if (positionals.length !== names.length) {
    throw new UsageError(`${name} takes ${names.length === 0 ? 'no arguments' : names.map((n) => `<${n}>`).join(' ')}, ${positionals.length} given.`, name);
  }
  if (command.confirm && !values.yes) throw new UsageError(`${name} cannot be undone: add --yes to confirm.`, name);
  const args = Object.fromEntries(names.map((n, i) => [n, positionals[i]!]));
  const path = pathFor(command.path, args);
  const query = queryOf(command, values);
  const limit = command.paging ? limitOf(values, command.paging.defaultLimit, name) : 0;
  const target = targetFrom(io.env);

  const body = command.body ? await bodyOf(command, values, target, io, name) : undefined;
  const answer = command.paging
    ? await allPages(target, command, path, query, limit)
    : (await request(target, command.method, path, { query, body })).body;
  show(command, answer, args, values.json === true, io);
  return EXIT.ok;
}

function queryOf(command: Command, values: Values): Record<string, string> {
  const query: Record<string, string> = {};
  for (const [flag, q] of Object.entries(command.query ?? {})) {
    const value = values[flag];
    if (value === true) query[q.param] = 'true';
    else if (typeof value === 'string') query[q.param] = value;
  }
  return query;
}

function limitOf(values: Values, fallback: number, name: string): number {
  if (values.all) {
    if (values.limit !== undefined) throw new UsageError('give --limit or --all, not both.', name);
    return Infinity;
  }
  if (values.limit === undefined) return fallback;
  const limit = Number(values.limit);
  if (!/^\d+$/.test(String(values.limit)) || limit < 1) throw new UsageError('--limit must be a whole number from 1.', name);
  return limit;
}

async function bodyOf(command: Command, values: Values, target: Target, io: Io, name: string): Promise<Json> {
  const fields: FieldValue[] = [];
  for (const [flag, f] of Object.entries(command.fields ?? {})) {
    const fallback = f.type === 'list' ? { type: 'array', items: { type: 'string' } } : f.type && { type: f.type };
    for (const value of (values[flag] ?? []) as string[]) fields.push({ path: f.field.split('.'), value, json: false, ...(fallback && { fallback }) });
  }
  for (const arg of (values.set ?? []) as string[]) fields.push(parseSet(arg, name));
  const base = typeof values.body === 'string' ? await readBodyArg(values.body, name, io.stdin) : undefined;
  if (command.body === 'required' && base === undefined && fields.length === 0) {
    throw new UsageError('nothing to send: give fields with --set field=value, the command\'s flags, or --body FILE.', name);
  }
  // The server's document types the values; only needed when some value is not JSON already.
  const document = fields.some((f) => !f.json) ? (await request(target, 'GET', '/admin/openapi.json')).body : undefined;
  return buildBody(base ?? {}, fields, document, bodySchema(document, command.method, command.path), name);
}

/** Pages of a paged route, following its cursor until `limit` items or the last page. */
async function allPages(target: Target, command: Command, path: string, query: Record<string, string>, limit: number): Promise<Json> {
  const paging = command.paging!;
  const items: unknown[] = [];
  let cursor = query[paging.cursorParam];
  let next: unknown = null;
  do {
    const size = Math.min(paging.maxPage, limit - items.length);
    const page = (await request(target, 'GET', path, { query: { ...query, [paging.limitParam]: String(size), ...(cursor && { [paging.cursorParam]: cursor }) } })).body as Json;
    const got = page?.[paging.items];
    if (!Array.isArray(got)) throw new RequestFailed(`The answer has no ${paging.items} list; is the server a Postern of this version?`);
    items.push(...got);
    next = page[paging.next];
    cursor = typeof next === 'string' ? next : undefined;
    if (got.length === 0) break;
  } while (cursor !== undefined && items.length < limit);
  return { [paging.items]: items, [paging.next]: typeof next === 'string' ? next : null };
}

function show(command: Command, answer: unknown, args: Record<string, string>, json: boolean, io: Io): void {
  const body = (typeof answer === 'object' && answer !== null ? answer : {}) as Json;
  const view = command.view;
  if (json) {
    if (answer !== undefined) io.out(`${JSON.stringify(answer, null, 2)}\n`);
  } else if (view.kind === 'done') {
    io.out(`${view.message.replace(/\{(\w+)\}/g, (_, n: string) => clean(args[n] ?? ''))}\n`);
  } else if (view.kind === 'list') {
    const rows = Array.isArray(body[view.key]) ? body[view.key] : Object.values(body).find(Array.isArray);
    io.out(rowsTable((rows ?? []) as Json[], view.columns));
  } else {
    io.out(record(body));
  }
  const next = command.paging ? body[command.paging.next] : undefined;
  if (!json && typeof next === 'string') io.err(`More ${command.paging!.items}: add --cursor ${clean(next)} (or --all).\n`);
  for (const field of SHOWN_ONCE) {
    if (typeof body[field] === 'string') io.err(`postern: ${field} is shown this once: store it now (e.g. in a secret manager); it cannot be read again.\n`);
  }
}
