// Structured logs on stdout, one line per event, in one of two formats with the same
// fields: JSON (production, and anything a machine reads) or pretty (development: `time
// LEVEL msg key=value …`, coloured only on a terminal). Callers pass fields, never raw
// requests, so codes, tokens and secrets only reach the log if someone writes them in by
// name, whatever the format.
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
}

export interface LogOutput {
  readonly format?: LogFormat | undefined;
  /** ANSI colours in the pretty format: only when a person reads a terminal (never in files or pipes). */
  readonly color?: boolean | undefined;
}

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

let stdout: ((line: string) => void) | undefined;

/**
 * Lines for stdout, written once per turn of the event loop: one write (a system call)
 * for every line logged meanwhile, instead of one per line, which under load is most of
 * what a request log costs. What is pending is written when the process exits.
 */
function batchedStdout(): (line: string) => void {
  let pending: string[] = [];
  const flush = () => {
    if (pending.length === 0) return;
    const out = pending.join('');
    pending = [];
    process.stdout.write(out);
  };
  process.on('exit', flush);
  return (line) => {
    if (pending.push(line) === 1) setImmediate(flush);
  };
}

/**
 * The ISO time of now, formatted once per millisecond: a busy server logs several lines a
 * millisecond, and formatting a Date costs about as much as the rest of a line.
 */
let lastMs = Number.NaN;
let lastIso = '';
function isoNow(): string {
  const ms = Date.now();
  if (ms !== lastMs) {
    lastMs = ms;
    lastIso = new Date(ms).toISOString();
  }
  return lastIso;
}

export function createLogger(level: LogLevel, write: (line: string) => void = (stdout ??= batchedStdout()), output: LogOutput = {}): Logger {
  const pretty = output.format === 'pretty';
  const at = (lvl: Exclude<LogLevel, 'silent'>) => (msg: string, fields: LogFields = {}) => {
    if (ORDER[lvl] < ORDER[level]) return;
    const time = isoNow();
    write(`${pretty ? prettyLine({ time, level: lvl, msg, ...fields }, output.color ?? false) : jsonLine(time, lvl, msg, fields)}\n`);
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/**
 * The JSON line of `{ time, level, msg, ...fields }`, with the same keys in the same order,
 * written without copying the fields into a new object first (the request log writes one
 * line per request).
 */
function jsonLine(time: string, level: string, msg: string, fields: LogFields): string {
  if (Object.hasOwn(fields, 'time') || Object.hasOwn(fields, 'level') || Object.hasOwn(fields, 'msg')) return JSON.stringify({ time, level, msg, ...fields });
  const head = `{"time":"${time}","level":"${level}","msg":${JSON.stringify(msg)}`;
  const rest = JSON.stringify(fields);
  return rest === '{}' ? `${head}}` : `${head},${rest.slice(1)}`;
}

const COLOURS: Record<string, string> = { debug: '90', info: '32', warn: '33', error: '31' };
const paint = (code: string, text: string) => `\x1b[${code}m${text}\x1b[0m`;

/** Text that reads the same bare: no quote, space, `=`, control or look-alike character. */
const BARE = /^[\w.,:/@+\-[\]()#*?&%~|^]+$/;
/**
 * Characters JSON.stringify leaves as they are but a terminal would act on or show
 * misleadingly: C1 controls, line and paragraph separators, bidirectional overrides.
 */
const UNSAFE_UNICODE = /[\u0080-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** A value as the pretty format shows it: bare when that is unambiguous, else JSON-quoted, always on one line. */
export function prettyValue(value: unknown): string {
  return oneLine(typeof value === 'string' && BARE.test(value) ? value : JSON.stringify(value));
}

const escapeChar = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;

/** Escapes whatever a terminal would act on, so text shows as written and on one line. */
function oneLine(text: string): string {
  return text.replace(/[\x00-\x1f\x7f]/g, escapeChar).replace(UNSAFE_UNICODE, escapeChar);
}

/** `key=value` pairs of `record`, nested objects as `outer.inner`, exactly the fields its JSON carries. */
function pairs(record: Record<string, unknown>, prefix = ''): string[] {
  return Object.entries(record).flatMap(([key, value]) =>
    value !== null && typeof value === 'object' && !Array.isArray(value)
      ? pairs(value as Record<string, unknown>, `${prefix}${key}.`)
      : [`${prettyValue(`${prefix}${key}`)}=${prettyValue(value)}`],
  );
}

/**
 * One event on one line: time, level, message, then every other field. Built from the
 * JSON form (parsed back), so both formats carry the same fields and values: undefined
 * left out, dates and errors as JSON shows them.
 */
export function prettyLine(record: LogFields, color: boolean): string {
  const { time, level, msg, ...fields } = JSON.parse(JSON.stringify(record)) as LogFields;
  const lvl = String(level).toUpperCase().padEnd(5);
  // The message as written (it comes from the code, not from a request), escaped like values.
  const head = `${prettyValue(time)} ${color ? paint(COLOURS[String(level)] ?? '0', lvl) : lvl} ${oneLine(String(msg))}`;
  const rest = pairs(fields).map((pair) => (color ? pair.replace(/^([^=]*)=/, (_, key: string) => `${paint('2', key)}=`) : pair));
  return [head, ...rest].join(' ');
}
