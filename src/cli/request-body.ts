// A request body from the command line, one way for every command: `--body FILE` (or
// `--body -` for stdin) gives a JSON object to start from; each `--set field=value` (and
// each shorthand flag, e.g. `--redirect-uri`, which is `--set redirect_uris=…`) then sets
// one field over it. A value takes the type the server's document gives the field (a
// number, a boolean, null, one more item of a list); `--set field:=JSON` gives it
// explicitly. Dotted names reach into objects: `--set policy.redirect_uri_hosts=a.example`.
import { readFile } from 'node:fs/promises';
import { UsageError } from './cli-errors.ts';
import { fieldSchema, typesOf, type Schema } from './field-types.ts';
import { clean } from './terminal-text.ts';

export interface FieldValue {
  readonly path: readonly string[];
  readonly value: string;
  /** `field:=JSON`: the value is JSON, whatever the document says. */
  readonly json: boolean;
  /** A shorthand flag's own type, for a field the server's document does not describe. */
  readonly fallback?: Schema;
}

type Json = Record<string, unknown>;

const quote = (text: string) => `"${clean(text.length > 60 ? `${text.slice(0, 60)}…` : text)}"`;

const OBJECT_MACHINERY = new Set(['__proto__', 'constructor', 'prototype']);

/** A number as JSON writes one; an integer without fraction or exponent. Number() would also take 0x258, 0b1, " 6 " and "". */
const JSON_NUMBER = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/;
const INTEGER = /^-?(0|[1-9]\d*)$/;

/** `name=value` or `name:=JSON`. */
export function parseSet(arg: string, command: string): FieldValue {
  const match = /^([A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*)(:?=)([\s\S]*)$/.exec(arg);
  if (!match) throw new UsageError(`--set takes field=value or field:=JSON, not ${quote(arg)}.`, command);
  const path = match[1]!.split('.');
  // Assigned to a plain object, `__proto__` would set its prototype: the field would vanish
  // from the body sent, and the command would report a change it never asked for.
  const reserved = path.find((name) => OBJECT_MACHINERY.has(name));
  if (reserved) throw new UsageError(`--set cannot name the field "${reserved}".`, command);
  return { path, value: match[3]!, json: match[2] === ':=' };
}

function parseJson(text: string, what: string, command: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new UsageError(`${what} is not valid JSON.`, command);
  }
}

/** The JSON object of `--body FILE` or `--body -` (stdin). */
export async function readBodyArg(arg: string, command: string, stdin: NodeJS.ReadableStream): Promise<Json> {
  let text: string;
  try {
    if (arg === '-') {
      const chunks: Buffer[] = [];
      for await (const chunk of stdin) chunks.push(Buffer.from(chunk as Buffer));
      text = Buffer.concat(chunks).toString('utf8');
    } else {
      text = await readFile(arg, 'utf8');
    }
  } catch (error) {
    throw new UsageError(`Cannot read --body ${quote(arg)}: ${(error as NodeJS.ErrnoException).code ?? 'read error'}.`, command);
  }
  const body = parseJson(text, arg === '-' ? 'The body on stdin' : `--body ${quote(arg)}`, command);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new UsageError('--body must hold a JSON object ({…}).', command);
  return body as Json;
}

function typed(value: string, schema: Schema | undefined, field: string, command: string): unknown {
  const types = typesOf(schema);
  if (value === 'null' && types.includes('null')) return null;
  if (types.includes('integer') || types.includes('number')) {
    const n = Number(value);
    if ((types.includes('number') ? JSON_NUMBER : INTEGER).test(value) && Number.isFinite(n)) return n;
    if (!types.includes('string')) throw new UsageError(`${field} must be ${types.includes('number') ? 'a number' : 'an integer'}, not ${quote(value)}.`, command);
  }
  if (types.includes('boolean')) {
    if (value === 'true' || value === 'false') return value === 'true';
    if (!types.includes('string')) throw new UsageError(`${field} must be true or false, not ${quote(value)}.`, command);
  }
  if (types.includes('object') && !types.includes('string')) return parseJson(value, field, command);
  return value;
}

/** The object that holds the field's last name, created on the way. */
function holderOf(body: Json, path: readonly string[], command: string): Json {
  let node = body;
  for (const name of path.slice(0, -1)) {
    const next = Object.hasOwn(node, name) ? node[name] : (node[name] = {});
    if (typeof next !== 'object' || next === null || Array.isArray(next)) throw new UsageError(`${path.join('.')}: ${name} is not an object.`, command);
    node = next as Json;
  }
  return node;
}

/**
 * The body: `base` (from --body) with every field set over it, typed by `schema` (the
 * operation's request body in `document`). A list given on the command line replaces the
 * base's; a field that is not a list may be given once.
 */
export function buildBody(base: Json, fields: readonly FieldValue[], document: unknown, schema: Schema | undefined, command: string): Json {
  const body = structuredClone(base);
  const given = new Map<string, 'one' | 'list'>();
  for (const field of fields) {
    const name = field.path.join('.');
    const holder = holderOf(body, field.path, command);
    const last = field.path.at(-1)!;
    const own = fieldSchema(document, schema, field.path) ?? field.fallback;
    const list = !field.json && typesOf(own).includes('array');
    if (given.has(name) && !(list && given.get(name) === 'list')) throw new UsageError(`${name} is given twice.`, command);
    if (!list) {
      holder[last] = field.json ? parseJson(field.value, name, command) : typed(field.value, own, name, command);
      given.set(name, 'one');
      continue;
    }
    if (!given.has(name)) holder[last] = [];
    given.set(name, 'list');
    (holder[last] as unknown[]).push(typed(field.value, fieldSchema(document, own?.items, []), `${name}[]`, command));
  }
  return body;
}
