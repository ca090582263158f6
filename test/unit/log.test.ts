// The two log formats (src/log.ts): the same fields either way, one line per event
// whatever the values hold, colour only when asked for (a terminal).
import { expect } from 'chai';
import { createLogger, type LogFields, type LogFormat } from '../../src/log.ts';
import { fieldsOfJsonLine, fieldsOfPrettyLine } from '../helpers/log-lines.ts';

function linesOf(format: LogFormat, write: (log: ReturnType<typeof createLogger>) => void, color = false): string[] {
  const lines: string[] = [];
  write(createLogger('debug', (line) => void lines.push(line), { format, color }));
  return lines;
}

/** Both formats of the same events; the time is the one field that differs between two calls. */
function both(msg: string, fields: LogFields) {
  const [json] = linesOf('json', (log) => log.warn(msg, fields));
  const [pretty] = linesOf('pretty', (log) => log.warn(msg, fields));
  return { json: json!, pretty: pretty! };
}

const withoutTime = ({ time, ...rest }: Record<string, string>) => (expect(time).to.match(/^\d{4}-\d\d-\d\dT/), rest);

describe('log formats', () => {
  it('writes one pretty line per event with the fields of its JSON line', () => {
    const fields = {
      request_id: 'a1b2',
      method: 'GET',
      path: '/apps/x/auth',
      status: 200,
      ms: 1.25,
      ok: true,
      nothing: null,
      skipped: undefined,
      at: new Date(0),
      settings: ['ADMIN_TOKEN', 'COOKIE_SECRETS'],
      audit: { type: 'link.requested', app_id: 'app1', user_agent: 'Mozilla/5.0 (X11; Linux x86_64)', empty: '' },
    };
    const { json, pretty } = both('sign-in mail given up', fields);
    expect(json.endsWith('\n') && pretty.endsWith('\n')).to.equal(true);
    expect(pretty.trimEnd()).not.to.include('\n');
    expect(pretty).to.match(/^\S+ WARN  sign-in mail given up request_id=a1b2 method=GET path=\/apps\/x\/auth status=200 /);
    expect(pretty).to.include(' audit.user_agent="Mozilla/5.0 (X11; Linux x86_64)" ');
    expect(withoutTime(fieldsOfPrettyLine(pretty))).to.deep.equal(withoutTime(fieldsOfJsonLine(json)));
    expect(fieldsOfPrettyLine(pretty)).not.to.have.property('skipped');
  });

  it('keeps hostile values on one line, escaped, and cannot be made to show a forged field', () => {
    const hostile = {
      user_agent: 'x\n2030-01-01T00:00:00.000Z ERROR forged line',
      email: 'a" admin=true b="',
      ip: '\x1b[2J\x1b[31mred\x07',
      name: 'evil\u202etxt.exe\u2028next\u0085',
      'key with space': 'v',
      'k=v': 'w',
    };
    const { json, pretty } = both('audit', { audit: hostile });
    expect(pretty.trimEnd()).not.to.match(/[\x00-\x1f\x7f\u0080-\u009f\u2028\u2029\u202e]/);
    const read = fieldsOfPrettyLine(pretty);
    expect(read).not.to.have.property('admin');
    expect(withoutTime(read)).to.deep.equal(withoutTime(fieldsOfJsonLine(json)));
    expect(read['audit.ip']).to.equal(hostile.ip);
  });

  it('colours the level and field names only when asked, and the text is the same without the colours', () => {
    const plain = linesOf('pretty', (log) => log.error('store down', { store: 'redis', attempt: 2 }))[0]!;
    const coloured = linesOf('pretty', (log) => log.error('store down', { store: 'redis', attempt: 2 }), true)[0]!;
    expect(plain).not.to.include('\x1b');
    expect(coloured).to.include('\x1b[31mERROR');
    // eslint-disable-next-line no-control-regex
    const strip = (line: string) => line.replace(/\x1b\[[0-9;]*m/g, '').replace(/^\S+/, '');
    expect(strip(coloured)).to.equal(strip(plain));
    expect(linesOf('json', (log) => log.error('store down'), true)[0]).not.to.include('\x1b');
  });

  it('writes JSON lines by default and honours the level in both formats', () => {
    const lines: string[] = [];
    createLogger('warn', (line) => void lines.push(line)).info('hidden');
    createLogger('warn', (line) => void lines.push(line)).warn('shown', { n: 1 });
    expect(lines.map((l) => JSON.parse(l).msg)).to.deep.equal(['shown']);
    expect(linesOf('pretty', (log) => log.debug('x'))).to.have.length(1);
    const quiet: string[] = [];
    createLogger('silent', (line) => void quiet.push(line), { format: 'pretty' }).error('nothing');
    expect(quiet).to.deep.equal([]);
  });

  it('writes a JSON line as the object of time, level, msg and the fields, in that order, whatever the fields are', () => {
    const line = (msg: string, fields?: LogFields) => linesOf('json', (log) => (fields ? log.info(msg, fields) : log.info(msg)))[0]!;
    const parsed = JSON.parse(line('request', { request_id: 'r', status: 200, skipped: undefined, nested: { a: [1, '"'] } }));
    expect(Object.keys(parsed)).to.deep.equal(['time', 'level', 'msg', 'request_id', 'status', 'nested']);
    expect(parsed).to.deep.include({ level: 'info', msg: 'request', request_id: 'r', status: 200, nested: { a: [1, '"'] } });
    expect(Object.keys(JSON.parse(line('bare')))).to.deep.equal(['time', 'level', 'msg']);
    expect(JSON.parse(line('quote " and \\ in msg', {})).msg).to.equal('quote " and \\ in msg');
    // A field named like a fixed key replaces its value in place, as an object spread would: never a second key.
    const clash = line('real', { msg: 'forged', level: 'error', extra: 1 });
    expect(clash.match(/"msg"/g)).to.have.length(1);
    expect(JSON.parse(clash)).to.deep.include({ msg: 'forged', level: 'error', extra: 1 });
  });
});
