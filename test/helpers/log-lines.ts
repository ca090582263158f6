// Reading log lines back in tests, in either format (src/log.ts): one map of field → text
// per line, nested fields as `outer.inner`, so a JSON line and a pretty line of the same
// event compare equal.

/** A value as text: strings as they are, everything else as JSON. */
const asText = (value: unknown) => (typeof value === 'string' ? value : JSON.stringify(value));

function flatten(record: Record<string, unknown>, prefix = ''): [string, string][] {
  return Object.entries(record).flatMap(([key, value]): [string, string][] =>
    value !== null && typeof value === 'object' && !Array.isArray(value) ? flatten(value as Record<string, unknown>, `${prefix}${key}.`) : [[`${prefix}${key}`, asText(value)]],
  );
}

/** The fields of one JSON log line. */
export function fieldsOfJsonLine(line: string): Record<string, string> {
  return Object.fromEntries(flatten(JSON.parse(line) as Record<string, unknown>));
}

const PAIR = /^ ([^\s="]+|"(?:[^"\\]|\\.)*")=("(?:[^"\\]|\\.)*"|\S+)/;
const token = (text: string) => (text.startsWith('"') ? (JSON.parse(text) as string) : text);

/** The fields of one pretty log line: `time LEVEL msg key=value …` (the message holds no ` key=`). */
export function fieldsOfPrettyLine(line: string): Record<string, string> {
  const head = /^(\S+) (\S+) +(.*?)(?= [^\s=]+=|$)/.exec(line.replace(/\n$/, ''));
  if (!head) throw new Error(`not a pretty log line: ${line}`);
  const fields: Record<string, string> = { time: head[1]!, level: head[2]!.toLowerCase(), msg: head[3]! };
  let rest = line.replace(/\n$/, '').slice(head[0].length);
  while (rest) {
    const pair = PAIR.exec(rest);
    if (!pair) throw new Error(`unreadable rest of a pretty log line: ${rest}`);
    fields[token(pair[1]!)] = token(pair[2]!);
    rest = rest.slice(pair[0].length);
  }
  return fields;
}

/** The fields of a log line in either format. */
export function fieldsOfLine(line: string): Record<string, string> {
  return line.startsWith('{') ? fieldsOfJsonLine(line) : fieldsOfPrettyLine(line);
}
