// The `postern` CLI end to end: a real child process against the harness's listening
// server. The operator's commands work and show what the server answered; values are
// typed from the server's own API document; an attacker's or a broken network's answers
// (wrong token, redirects, proxy pages, escape sequences, ids that try to climb out of
// their path segment) end in a clear message and the right exit code, never in the token
// on screen or a request to another route.
import { expect } from 'chai';
import { writeFile, mkdtemp } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAX_ANSWER_BYTES } from '../../src/cli/admin-client.ts';
import { runCli, type CliResult } from '../helpers/cli.ts';
import { ADMIN_TOKEN, Harness, REDIRECT_URI } from '../helpers/harness.ts';

describe('postern CLI', function () {
  // Each case runs the CLI as a process of its own, some of them a dozen times: about 0.3 s a
  // run on a quiet machine, 1 s or more on a loaded one.
  this.timeout(90_000);
  const h = new Harness();
  /** Everything any run printed: the admin token must be in none of it. */
  const printed: string[] = [];
  before(() => h.start({}, { adminAuthFailuresPerIp: 100_000 }));
  after(async () => {
    await h.stop();
    expect(printed.filter((text) => text.includes(ADMIN_TOKEN))).to.deep.equal([]);
  });

  async function postern(args: readonly string[], opts: { env?: Record<string, string | undefined>; stdin?: string } = {}): Promise<CliResult> {
    const result = await runCli(args, { ...opts, env: { POSTERN_URL: h.url, POSTERN_ADMIN_TOKEN: ADMIN_TOKEN, ...opts.env } });
    printed.push(result.stdout, result.stderr);
    return result;
  }

  async function json(args: readonly string[], opts: { env?: Record<string, string>; stdin?: string } = {}): Promise<any> {
    const result = await postern([...args, '--json'], opts);
    expect(result.code, result.stderr).to.equal(0);
    return JSON.parse(result.stdout);
  }

  /** A server on a free loopback port that answers every request with `handler`; the requests it saw. */
  async function fakeServer(handler: (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => void) {
    const seen: { url: string; authorization: string | undefined }[] = [];
    const server: Server = createServer((req, res) => {
      seen.push({ url: req.url ?? '', authorization: req.headers.authorization });
      handler(req, res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return { url, seen, close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }) };
  }

  describe('the operator\'s commands', () => {
    it('creates an app with fields typed from the server\'s API document and prints its secret once with a warning', async () => {
      const r = await postern([
        'apps', 'create', '--name', 'CLI App', '--redirect-uri', REDIRECT_URI, '--redirect-uri', 'http://localhost:8080/second',
        '--set', 'id_token_ttl=600', '--set', 'require_pkce=false', '--set', 'token_endpoint_auth_method=client_secret_basic',
        '--set', 'userinfo_signed_response_alg=null', '--json',
      ]);
      expect(r.code, r.stderr).to.equal(0);
      const app = JSON.parse(r.stdout);
      expect(app).to.include({ name: 'CLI App', id_token_ttl: 600, require_pkce: false, token_endpoint_auth_method: 'client_secret_basic', userinfo_signed_response_alg: null });
      expect(app.redirect_uris).to.deep.equal([REDIRECT_URI, 'http://localhost:8080/second']);
      expect(app.client_secret).to.be.a('string');
      expect(r.stderr).to.match(/client_secret is shown this once: store it now/);
      const stored = await h.admin('GET', `/admin/apps/${app.app_id}`);
      expect(stored.body).to.include({ id_token_ttl: 600, require_pkce: false });
    });

    it('lists apps as a table and shows one app with its keys', async () => {
      const app = await h.createApp({ name: 'Table App' });
      const list = await postern(['apps', 'list']);
      expect(list.code, list.stderr).to.equal(0);
      expect(list.stdout.split('\n')[0]).to.match(/^APP_ID\s+NAME\s+TOKEN_ENDPOINT_AUTH_METHOD\s+REDIRECT_URIS$/);
      expect(list.stdout).to.match(new RegExp(`^${app.app_id}\\s+Table App\\s+none\\s+${REDIRECT_URI}$`, 'm'));

      const show = await postern(['apps', 'show', app.app_id]);
      expect(show.code, show.stderr).to.equal(0);
      expect(show.stdout).to.match(/^name\s+Table App$/m);
      expect(show.stdout).to.match(/^require_pkce\s+true$/m);
      expect(show.stdout).to.match(/^keys:\nKID\s+ALG\s+STATUS\s+CREATED_AT/m);
      expect(show.stdout).to.match(/\sES512\s+current\s/);
    });

    it('updates from --set, --body FILE and --body - (stdin), the flags winning over the file', async () => {
      const app = await h.createApp();
      const updated = await json(['apps', 'update', app.app_id, '--set', 'id_token_ttl=900', '--set', 'backchannel_logout_session_required=true']);
      expect(updated).to.include({ id_token_ttl: 900, backchannel_logout_session_required: true });

      const dir = await mkdtemp(join(tmpdir(), 'postern-cli-'));
      const file = join(dir, 'body.json');
      await writeFile(file, JSON.stringify({ name: 'From File', magic_link_ttl: 300 }));
      const fromFile = await json(['apps', 'update', app.app_id, '--body', file, '--name', 'Flag Wins']);
      expect(fromFile).to.include({ name: 'Flag Wins', magic_link_ttl: 300 });

      const fromStdin = await json(['apps', 'update', app.app_id, '--body', '-', '--set', 'post_logout_redirect_uris:=["http://localhost:8080/bye"]'], {
        stdin: JSON.stringify({ max_links_per_address: 4 }),
      });
      expect(fromStdin).to.include({ max_links_per_address: 4 });
      expect(fromStdin.post_logout_redirect_uris).to.deep.equal(['http://localhost:8080/bye']);
    });

    it('rotates keys, and --immediate replaces every key', async () => {
      const app = await h.createApp();
      const kids = (a: { keys: { kid: string }[] }) => a.keys.map((k) => k.kid);
      const rotated = await json(['keys', 'rotate', app.app_id, '--immediate']);
      expect(kids(rotated)).to.not.include.members(kids(app as any));
      expect(rotated.keys.filter((k: { status: string }) => k.status === 'current')).to.have.length.greaterThan(0);
    });

    it('deletes an app only with --yes', async () => {
      const app = await h.createApp();
      const refused = await postern(['apps', 'delete', app.app_id]);
      expect(refused.code).to.equal(2);
      expect(refused.stderr).to.match(/cannot be undone: add --yes/);
      expect((await h.admin('GET', `/admin/apps/${app.app_id}`)).status).to.equal(200);

      const done = await postern(['apps', 'delete', app.app_id, '--yes']);
      expect(done.code, done.stderr).to.equal(0);
      expect(done.stdout).to.equal(`Deleted app ${app.app_id}.\n`);
      expect((await h.admin('GET', `/admin/apps/${app.app_id}`)).status).to.equal(404);
      const again = await postern(['apps', 'show', app.app_id]);
      expect(again.code).to.equal(1);
      expect(again.stderr).to.match(/No app with id .* \(not_found, HTTP 404\)/);
    });

    it('reads the audit trail with filters, page by page through the cursor', async () => {
      const app = await h.createApp();
      for (let i = 0; i < 5; i++) await h.admin('PATCH', `/admin/apps/${app.app_id}`, { id_token_ttl: 600 + i });
      await h.server.audit.flushed();

      const all = await json(['audit', app.app_id, '--all']);
      expect(all.events.map((e: { type: string }) => e.type)).to.deep.equal([...Array(5).fill('admin.app_updated'), 'admin.app_created']);
      expect(all.next_cursor).to.equal(null);

      const updates = await json(['audit', app.app_id, '--type', 'admin.app_updated', '--limit', '3']);
      expect(updates.events).to.have.length(3);
      expect(updates.next_cursor).to.be.a('string');
      const rest = await json(['audit', app.app_id, '--type', 'admin.app_updated', '--cursor', updates.next_cursor]);
      expect(rest.events).to.have.length(2);
      const ids = [...updates.events, ...rest.events].map((e: { id: string }) => e.id);
      expect(new Set(ids).size).to.equal(5);

      const created = Date.parse(all.events.at(-1).at);
      const before = await json(['audit', app.app_id, '--to', new Date(created + 1).toISOString()]);
      expect(before.events.map((e: { type: string }) => e.type)).to.deep.equal(['admin.app_created']);

      const table = await postern(['audit', app.app_id, '--limit', '2']);
      expect(table.code, table.stderr).to.equal(0);
      expect(table.stdout.split('\n')[0]).to.match(/^AT\s+TYPE\s+OUTCOME/);
      expect(table.stdout.trim().split('\n')).to.have.length(3);
      expect(table.stderr).to.match(/^More events: add --cursor \S+ \(or --all\)\.$/m);
    });

    it('signs an account out of an app', async () => {
      const app = await h.createApp();
      await h.signIn(app, 'cli-user@example.com');
      const r = await postern(['sign-outs', app.app_id, '--email', 'cli-user@example.com']);
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stdout).to.match(/^grants_revoked\s+1$/m);
      expect(r.stdout).to.match(/^sessions_ended\s+1$/m);
      const again = await json(['sign-outs', app.app_id, '--email', 'cli-user@example.com']);
      expect(again).to.deep.equal({ grants_revoked: 0, sessions_ended: 0, backchannel_logouts_queued: 0 });
    });

    it('runs as `npx postern` from the repository root', async () => {
      const r = await runCli(['--help'], { command: ['npx', '--no-install', 'postern'] });
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stdout).to.match(/^Usage: postern <command>/);
      expect(r.stdout).to.include('initial-access-tokens create');
      const group = await runCli(['clients', '--help']);
      expect(group.code).to.equal(0);
      expect(group.stdout).to.match(/^  postern clients rotate-secret <app> <client> /m);
      const command = await runCli(['audit', '--help']);
      expect(command.stdout).to.match(/^Usage: postern audit <app> \[--type VALUE\]/);
      expect(command.stdout).to.match(/^Example:\n  postern audit \S+ --type link\.requested/m);
    });
  });

  describe('usage mistakes (exit 2, nothing changed)', () => {
    it('refuses unknown commands, unknown flags, missing arguments and untyped values', async () => {
      const before = (await h.admin('GET', '/admin/apps')).body.apps.length;
      const cases: [string[], RegExp][] = [
        [['bogus'], /unknown command "bogus"/],
        [['APPS', 'list'], /unknown command "APPS"/],
        [['apps', 'frobnicate'], /unknown command "apps frobnicate"; apps has list, create, show, update, delete/],
        [['apps', 'list', '--bogus'], /Unknown option '--bogus'/],
        [['apps', 'show'], /apps show takes <app>, 0 given/],
        [['apps', 'create', '--name', 'X', '--redirect-uri', REDIRECT_URI, '--set', 'id_token_ttl=ten'], /id_token_ttl must be an integer, not "ten"/],
        ...['0x258', '0b1001011000', '6e2', ' 600', '600.0', '', '1e400'].map((spelling): [string[], RegExp] => [
          ['apps', 'create', '--name', 'X', '--redirect-uri', REDIRECT_URI, '--set', `id_token_ttl=${spelling}`],
          /id_token_ttl must be an integer/,
        ]),
        [['apps', 'create', '--name', 'X', '--redirect-uri', REDIRECT_URI, '--set', '__proto__.name=Y'], /cannot name the field "__proto__"/],
        [['apps', 'update', 'some-app', '--set', 'branding.constructor=x'], /cannot name the field "constructor"/],
        [['apps', 'create', '--name', 'X', '--redirect-uri', REDIRECT_URI, '--set', 'require_pkce=yes'], /require_pkce must be true or false/],
        [['apps', 'create', '--name', 'X', '--name', 'Y', '--redirect-uri', REDIRECT_URI], /name is given twice/],
        [['apps', 'create', '--set', 'nonsense'], /--set takes field=value or field:=JSON/],
        [['apps', 'create', '--set', 'redirect_uris:=[oops'], /redirect_uris is not valid JSON/],
        [['apps', 'create', '--body', '/nonexistent/body.json'], /Cannot read --body .*ENOENT/],
        [['apps', 'create'], /nothing to send/],
        [['audit', 'x', '--limit', '0'], /--limit must be a whole number/],
        [['apps', 'show', '..'], /".." is not a valid app id/],
      ];
      for (const [args, message] of cases) {
        const r = await postern(args);
        expect(r.code, args.join(' ')).to.equal(2);
        expect(r.stderr, args.join(' ')).to.match(message);
        expect(r.stderr).to.match(/Run "postern .*--help" for usage/);
        expect(r.stdout).to.equal('');
      }
      const body = await postern(['apps', 'create', '--body', '-'], { stdin: '[1,2]' });
      expect(body.code).to.equal(2);
      expect(body.stderr).to.match(/--body must hold a JSON object/);
      expect((await h.admin('GET', '/admin/apps')).body.apps.length).to.equal(before);
    });

    it('sends the token over plain http to another host only when told the network is the operator\'s', async () => {
      const env = { POSTERN_URL: 'http://postern.invalid', POSTERN_TIMEOUT_SECONDS: '3' };
      const refused = await postern(['apps', 'list'], { env });
      expect(refused.code).to.equal(2);
      const allowed = await postern(['apps', 'list'], { env: { ...env, POSTERN_ALLOW_HTTP: 'true' } });
      expect(allowed.code).to.equal(1);
      expect(allowed.stderr).to.match(/^postern: (Cannot reach http:\/\/postern\.invalid|http:\/\/postern\.invalid did not answer)/);
    });

    it('refuses an unusable environment without quoting the token', async () => {
      const secret = 'line-one-secret-token\nline-two';
      const cases: [Record<string, string | undefined>, RegExp][] = [
        [{ POSTERN_URL: undefined }, /POSTERN_URL is not set/],
        [{ POSTERN_ADMIN_TOKEN: undefined }, /POSTERN_ADMIN_TOKEN is not set/],
        [{ POSTERN_ADMIN_TOKEN: secret }, /POSTERN_ADMIN_TOKEN contains spaces, line breaks/],
        [{ POSTERN_URL: 'http://admin:hunter2@localhost:1' }, /must not contain credentials/],
        [{ POSTERN_URL: 'ftp://localhost' }, /must be an http\(s\) URL/],
        [{ POSTERN_URL: 'http://postern.example.com' }, /plain http to another host: the admin token would travel unencrypted/],
        [{ POSTERN_TIMEOUT_SECONDS: 'soon' }, /POSTERN_TIMEOUT_SECONDS must be a number/],
      ];
      for (const [env, message] of cases) {
        const r = await postern(['apps', 'list'], { env });
        expect(r.code, JSON.stringify(env)).to.equal(2);
        expect(r.stderr).to.match(message);
        expect(r.stderr + r.stdout).to.not.include('line-one-secret-token').and.not.include('hunter2');
      }
    });
  });

  describe('what an attacker or a broken network answers (exit 1)', () => {
    it('shows a wrong token\'s 401 in the server\'s words, without the token', async () => {
      const r = await postern(['apps', 'list'], { env: { POSTERN_ADMIN_TOKEN: 'wrong-token-wrong-token-wrong-token' } });
      expect(r.code).to.equal(1);
      expect(r.stderr).to.match(/^postern: .+ \(invalid_token, HTTP 401\)\. Check POSTERN_ADMIN_TOKEN/);
      expect(r.stderr + r.stdout).to.not.include('wrong-token');
    });

    it('keeps ids inside their path segment: ../ cannot reach another route', async () => {
      const victim = await h.createApp();
      const climbs = [`${victim.app_id}/../${victim.app_id}`, `../apps/${victim.app_id}`, '%2e%2e', `${victim.app_id}?x=1`, `${victim.app_id}#x`];
      for (const id of climbs) {
        const r = await postern(['apps', 'delete', id, '--yes']);
        expect(r.code, id).to.equal(1);
        expect(r.stderr, id).to.match(/HTTP 404/);
      }
      expect((await h.admin('GET', `/admin/apps/${victim.app_id}`)).status).to.equal(200);
      // Naively joined, this would be GET /admin/openapi.json.
      const doc = await postern(['apps', 'show', '../openapi.json']);
      expect(doc.code).to.equal(1);
      expect(doc.stdout).to.equal('');
    });

    it('says clearly when the server cannot be reached', async () => {
      const closed = await fakeServer(() => {});
      await closed.close();
      const r = await postern(['apps', 'list'], { env: { POSTERN_URL: closed.url } });
      expect(r.code).to.equal(1);
      expect(r.stderr).to.equal(`postern: Cannot reach ${closed.url}: ECONNREFUSED. Is POSTERN_URL right and the server running?\n`);
    });

    it('gives up on a server that accepts the connection and never answers', async () => {
      const sockets: import('node:net').Socket[] = [];
      const silent = createTcpServer((socket) => void sockets.push(socket));
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
      const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
      try {
        const r = await postern(['apps', 'list'], { env: { POSTERN_URL: url, POSTERN_TIMEOUT_SECONDS: '0.5' } });
        expect(r.code).to.equal(1);
        expect(r.stderr).to.equal(`postern: ${url} did not answer within 0.5 s (POSTERN_TIMEOUT_SECONDS).\n`);
        expect(sockets).to.have.length.greaterThan(0);
      } finally {
        for (const s of sockets) s.destroy();
        await new Promise((resolve) => silent.close(resolve));
      }
    });

    it('names a proxy\'s HTML page for what it is, with its escape sequences defused', async () => {
      const proxy = await fakeServer((_, res) => {
        res.writeHead(502, { 'content-type': 'text/html' }).end('<html><head><title>502 Bad Gateway\x1b]0;pwned\x07\x1b[2J</title></head><body>nginx</body></html>');
      });
      try {
        const r = await postern(['apps', 'list'], { env: { POSTERN_URL: proxy.url } });
        expect(r.code).to.equal(1);
        expect(r.stderr).to.include(`${proxy.url} answered HTTP 502 with text/html: "502 Bad Gateway\\u{1b}]0;pwned\\u{7}\\u{1b}[2J", not the admin API's JSON.`);
        expect(r.stderr).to.not.match(/[\x00-\x09\x0b-\x1f\x7f-\x9f]/);
      } finally {
        await proxy.close();
      }
    });

    it('defuses escape sequences in the server\'s own error message and values', async () => {
      const hostile = await fakeServer((req, res) => {
        // The list is paged: its query (limit) follows the path.
        if (req.url?.split('?')[0] === '/admin/apps') {
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ apps: [{ app_id: 'a\x1b[31m', name: 'Evil\u202eppa\x9b2J', redirect_uris: ['x\ny'] }] }));
        } else {
          res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'bad_request', error_description: 'Nope\x1b[2J\r\nForged line' }));
        }
      });
      try {
        const list = await postern(['apps', 'list'], { env: { POSTERN_URL: hostile.url } });
        expect(list.code).to.equal(0);
        expect(list.stdout).to.include('a\\u{1b}[31m').and.include('Evil\\u{202e}ppa\\u{9b}2J').and.include('x\\u{a}y');
        expect(list.stdout.trim().split('\n')).to.have.length(2);
        const show = await postern(['apps', 'show', 'x'], { env: { POSTERN_URL: hostile.url } });
        expect(show.code).to.equal(1);
        expect(show.stderr).to.equal('postern: Nope\\u{1b}[2J\\u{d}\\u{a}Forged line (bad_request, HTTP 400).\n');
      } finally {
        await hostile.close();
      }
    });

    it('never prints the token, even where a server in between echoes the request', async () => {
      const echo = await fakeServer((req, res) => {
        const said = `request had authorization: ${req.headers.authorization}`;
        if (req.url === '/admin/apps') res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ apps: [{ app_id: 'x', name: said }] }));
        else res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'bad_request', error_description: said }));
      });
      try {
        for (const args of [['apps', 'list'], ['apps', 'list', '--json'], ['apps', 'show', 'x']]) {
          const r = await postern(args, { env: { POSTERN_URL: echo.url } });
          expect(r.stdout + r.stderr, args.join(' ')).to.include('request had authorization: Bearer [POSTERN_ADMIN_TOKEN]');
        }
        expect(echo.seen.every((s) => s.authorization === `Bearer ${ADMIN_TOKEN}`)).to.equal(true);
      } finally {
        await echo.close();
      }
    });

    it('never prints a token with quotes or backslashes either, which --json escapes', async () => {
      const token = String.raw`Qm7"vX2\kP9!zR4#wT8$yL3%nB6&hJ1*cF5(dG0)`;
      const echo = await fakeServer((req, res) => {
        const said = `request had authorization: ${req.headers.authorization}`;
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ apps: [{ app_id: 'x', name: said }], next_cursor: null }));
      });
      try {
        for (const args of [['apps', 'list'], ['apps', 'list', '--json']]) {
          const r = await runCli(args, { env: { POSTERN_URL: echo.url, POSTERN_ADMIN_TOKEN: token } });
          expect(r.code, r.stderr).to.equal(0);
          expect(r.stdout, args.join(' ')).to.include('Bearer [POSTERN_ADMIN_TOKEN]');
          for (const spelling of [token, JSON.stringify(token).slice(1, -1), 'zR4#wT8']) expect(r.stdout + r.stderr).to.not.include(spelling);
        }
        expect(echo.seen.every((s) => s.authorization === `Bearer ${token}`)).to.equal(true);
      } finally {
        await echo.close();
      }
    });

    it('ends quietly, as done, when the reader of its output stops early', async () => {
      const apps = Array.from({ length: 500 }, (_, i) => ({ app_id: `id-${i}`, name: `App ${i} ${'x'.repeat(200)}` }));
      const big = await fakeServer((_, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ apps, next_cursor: null })));
      try {
        // `head` reads one line and exits; the CLI's next writes meet a closed pipe (EPIPE).
        const piped = await runCli(['-c', `"${process.execPath}" bin/postern.ts apps list --limit 500 | head -1 >/dev/null; echo "exit \${PIPESTATUS[0]}" >&2`], {
          command: ['bash', '--norc', '--noprofile'],
          env: { POSTERN_URL: big.url, POSTERN_ADMIN_TOKEN: ADMIN_TOKEN },
        });
        expect(piped.stderr.trim()).to.equal('exit 0');
      } finally {
        await big.close();
      }
    });

    it('stops reading an answer larger than any admin answer, announced or not', async () => {
      const chunk = Buffer.alloc(1024 * 1024, 0x20);
      const huge = await fakeServer((req, res) => {
        if (req.url === '/admin/apps/announced') {
          res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(MAX_ANSWER_BYTES + 1) }).write('{');
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' });
        const pump = () => {
          while (!res.destroyed && res.write(chunk));
          if (!res.destroyed) res.once('drain', pump);
        };
        res.on('close', () => res.removeAllListeners('drain'));
        pump();
      });
      try {
        for (const id of ['announced', 'streamed']) {
          const r = await postern(['apps', 'show', id], { env: { POSTERN_URL: huge.url } });
          expect(r.code, id).to.equal(1);
          expect(r.stderr, id).to.equal(`postern: ${huge.url} sent an answer larger than 32 MiB; that is not the admin API.\n`);
        }
      } finally {
        await huge.close();
      }
    });

    it('does not follow a redirect, so the token goes nowhere else', async () => {
      const elsewhere = await fakeServer((_, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"apps":[]}'));
      const redirecting = await fakeServer((_, res) => res.writeHead(307, { location: `${elsewhere.url}/admin/apps` }).end());
      try {
        const r = await postern(['apps', 'list'], { env: { POSTERN_URL: redirecting.url } });
        expect(r.code).to.equal(1);
        expect(r.stderr).to.match(/answered with a redirect \(HTTP 307\) instead of the admin API/);
        expect(redirecting.seen).to.have.length(1);
        expect(elsewhere.seen).to.deep.equal([]);
      } finally {
        await redirecting.close();
        await elsewhere.close();
      }
    });
  });
});

describe('postern CLI against a server that locks out failed admin logins', () => {
  const h = new Harness();
  before(() => h.start({}, { adminAuthFailuresPerIp: 1 }));
  after(() => h.stop());

  it('says when to try again once the server refuses this address', async () => {
    const env = { POSTERN_URL: h.url, POSTERN_ADMIN_TOKEN: 'wrong-token-wrong-token-wrong-token' };
    let r = await runCli(['apps', 'list'], { env });
    for (let attempt = 0; attempt < 3 && !/HTTP 429/.test(r.stderr); attempt++) r = await runCli(['apps', 'list'], { env });
    expect(r.code).to.equal(1);
    expect(r.stderr).to.match(/HTTP 429\)\. Try again in \d+ seconds\.\n$/);
    // The right token is refused too while the lockout lasts, and said the same way.
    const right = await runCli(['apps', 'list'], { env: { ...env, POSTERN_ADMIN_TOKEN: ADMIN_TOKEN } });
    expect(right.code).to.equal(1);
    expect(right.stderr).to.match(/HTTP 429\)\. Try again in \d+ seconds\./);
  });
});
