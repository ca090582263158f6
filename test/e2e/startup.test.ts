// The real entry point (src/main.ts) as an operator runs it: a child process with a clean
// environment. Development starts with nothing set and says how to begin; production
// refuses to start until every secret is set; SIGTERM shuts down cleanly.
import { expect } from 'chai';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { connect, createServer, type AddressInfo } from 'node:net';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DEFAULT_ADDON_PATH } from '../../src/keys/native-signer.ts';
import { promisify } from 'node:util';
import { fieldsOfPrettyLine } from '../helpers/log-lines.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const ADMIN_TOKEN = 'startup-admin-token-0123456789abcdef0123456789';
const COOKIE_SECRETS = 'startup-cookie-secret-0123456789abcdef01234567';
const KEY_ENCRYPTION_KEY = '0bfa2c42f094b808c5f8abd4e47c04e19c0ee9e55406189d8cc643de65db932c';

/** A production environment that loads; REDIS_URL is filled in per test. */
function productionEnv(redisUrl: string): Record<string, string> {
  return {
    NODE_ENV: 'production',
    PUBLIC_URL: 'https://id.example.com',
    ADMIN_TOKEN,
    COOKIE_SECRETS,
    KEY_ENCRYPTION_KEY,
    SMTP_URL: 'smtp://127.0.0.1:2525',
    REDIS_URL: redisUrl,
  };
}

/** A throw-away redis-server (no persistence) if one is installed; production needs a store. */
async function startRedis(port: number): Promise<ChildProcess | undefined> {
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  const started = await new Promise<boolean>((resolve) => {
    proc.once('error', () => resolve(false));
    proc.once('spawn', () => resolve(true));
  });
  if (!started) return undefined;
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    const up = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.end();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (up) return proc;
    await new Promise((r) => setTimeout(r, 50));
  }
  proc.kill('SIGKILL');
  throw new Error('redis-server did not start');
}

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

class ServerProcess {
  readonly proc: ChildProcess;
  readonly port: number;
  stdout = '';
  stderr = '';
  exit: Exit | undefined;
  readonly exited: Promise<Exit>;

  constructor(port: number, env: Record<string, string>) {
    this.port = port;
    this.proc = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', 'src/main.ts'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', PORT: String(port), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.proc.stdout!.setEncoding('utf8').on('data', (chunk: string) => (this.stdout += chunk));
    this.proc.stderr!.setEncoding('utf8').on('data', (chunk: string) => (this.stderr += chunk));
    this.exited = new Promise((resolve) => {
      // 'close' (not 'exit'): stdout and stderr are fully read by then.
      this.proc.once('close', (code, signal) => {
        this.exit = { code, signal };
        resolve(this.exit);
      });
    });
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get output(): string {
    return `--- stdout ---\n${this.stdout}\n--- stderr ---\n${this.stderr}`;
  }

  /** Polls /healthz until it answers 200; fails early if the process exits. */
  async ready(timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.exit) throw new Error(`server exited (${JSON.stringify(this.exit)}) before it was up\n${this.output}`);
      try {
        const res = await fetch(`${this.url}/healthz`, { signal: AbortSignal.timeout(1000) });
        await res.arrayBuffer();
        if (res.status === 200) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`server not healthy within ${timeoutMs} ms\n${this.output}`);
  }

  /** Waits until stdout contains `text` (the banner is written after listening). */
  async printed(text: string | RegExp, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const has = () => (typeof text === 'string' ? this.stdout.includes(text) : text.test(this.stdout));
    while (!has()) {
      if (Date.now() > deadline || this.exit) throw new Error(`stdout never contained ${String(text)}\n${this.output}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async exitWithin(timeoutMs: number): Promise<Exit> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`process did not exit within ${timeoutMs} ms\n${this.output}`)), timeoutMs);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  kill(): void {
    if (!this.exit && this.proc.pid !== undefined) this.proc.kill('SIGKILL');
  }
}

/** The banner's curl command, every continued line of it, as printed. */
function printedCurl(stdout: string): string {
  const command = /^ *(curl (?:.*\\\n)*.*)$/m.exec(stdout)?.[1];
  if (!command) throw new Error(`no curl command printed\n${stdout}`);
  return command;
}

/**
 * An admin write, tried again while the server sheds load: a busy test machine stalls the
 * child's event loop beyond MAX_EVENT_LOOP_LAG_MS, and an admin write then answers 503
 * temporarily_unavailable, which says nothing about what the test checks.
 */
async function unlessShed<T>(send: () => Promise<T>, shed: (answer: T) => boolean): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const answer = await send();
    if (!shed(answer) || attempt === 10) return answer;
    await new Promise((r) => setTimeout(r, 300));
  }
}

/** Runs `command` in a POSIX shell, as a developer pasting it would, with `env` exported; its output as JSON. */
function inShell(command: string, env: Record<string, string> = {}): Promise<{ error?: string; app_id?: string; issuer?: string }> {
  const run = promisify(execFile);
  return unlessShed(
    async () => JSON.parse((await run('sh', ['-c', command], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, timeout: 15_000 })).stdout) as { error?: string },
    (answer) => answer.error === 'temporarily_unavailable',
  );
}

/** POST /admin/apps with `body` and `token`. */
function postApp(url: string, token: string, body: string): Promise<Response> {
  const send = () => fetch(`${url}/admin/apps`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body });
  return unlessShed(send, (res) => res.status === 503);
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('starting the server (src/main.ts as a child process)', function () {
  this.timeout(40_000);
  const children: ServerProcess[] = [];

  async function start(env: Record<string, string> = {}): Promise<ServerProcess> {
    const child = new ServerProcess(await freePort(), env);
    children.push(child);
    return child;
  }

  after(async () => {
    for (const child of children) child.kill();
    await Promise.all(children.map((c) => c.exitWithin(5000).catch(() => undefined)));
  });

  async function createApp(child: ServerProcess, token: string) {
    return postApp(child.url, token, JSON.stringify({ name: 'My App', redirect_uris: ['http://localhost:8080/callback'] }));
  }

  describe('development with nothing set', () => {
    let child: ServerProcess;
    let token: string;

    before(async () => {
      child = await start();
      await child.ready();
      await child.printed('/dev/mailbox');
    });

    it('answers /healthz with 200 and status ok', async () => {
      const res = await fetch(`${child.url}/healthz`);
      expect(res.status).to.equal(200);
      expect(await res.json()).to.deep.equal({ status: 'ok' });
    });

    it('prints the generated admin token', () => {
      const match = /Admin token \(generated[^)]*\): (\S+)/.exec(child.stdout);
      expect(match, child.output).to.not.equal(null);
      token = match![1]!;
      expect(token).to.have.length.of.at.least(32);
      expect(child.stdout).to.include('Generated for this run only: ADMIN_TOKEN, COOKIE_SECRETS, KEY_ENCRYPTION_KEY');
    });

    it('prints a curl command that creates an app, with the token and the local URL', () => {
      expect(child.stdout).to.include(`curl -s -X POST http://localhost:${child.port}/admin/apps`);
      expect(child.stdout).to.include(`-H "Authorization: Bearer ${token}"`);
      expect(child.stdout).to.include(`-H 'Content-Type: application/json'`);
      expect(child.stdout).to.match(/-d '\{"name":"[^"]+","redirect_uris":\["http:\/\/localhost:\d+\/[^"]*"\]\}'/);
    });

    it('prints the development mailbox URL', () => {
      expect(child.stdout).to.include(`http://localhost:${child.port}/dev/mailbox`);
    });

    it('accepts the printed admin token for POST /admin/apps and rejects another', async () => {
      const res = await createApp(child, token);
      expect(res.status).to.equal(201);
      const app = (await res.json()) as { app_id: string; issuer: string };
      expect(app.issuer).to.equal(`http://localhost:${child.port}/apps/${app.app_id}`);
      const discovery = await fetch(`${child.url}/apps/${app.app_id}/.well-known/openid-configuration`);
      expect(discovery.status).to.equal(200);

      const wrong = await createApp(child, `${token}x`);
      expect(wrong.status).to.equal(401);
      await wrong.arrayBuffer();
    });

    it('the curl body from the banner creates an app as printed', async () => {
      const body = /-d '(\{.*\})'/.exec(child.stdout)?.[1];
      expect(body, child.output).to.be.a('string');
      const res = await postApp(child.url, token, body!);
      expect(res.status).to.equal(201);
      await res.arrayBuffer();
    });

    it('prints a curl command that creates an app when pasted into a shell', async () => {
      const created = await inShell(printedCurl(child.stdout));
      expect(created.app_id, JSON.stringify(created)).to.be.a('string');
      expect(created.issuer).to.equal(`http://localhost:${child.port}/apps/${created.app_id}`);
    });

    it('serves /dev/mailbox and the landing page at / with 200 in development, and prints where', async () => {
      for (const path of ['/dev/mailbox', '/']) {
        const res = await fetch(`${child.url}${path}`);
        expect(res.status, path).to.equal(200);
        expect(res.headers.get('content-type')).to.match(/^text\/html/);
        await res.text();
      }
      expect(child.stdout).to.include(`admin API's routes: http://localhost:${child.port}/\n`);
    });

    it('logs pretty lines on stdout in development, uncoloured when stdout is not a terminal', () => {
      const lines = child.stdout.split('\n').filter((l) => /^\d{4}-\d\d-\d\dT\S+ (DEBUG|INFO|WARN|ERROR)\b/.test(l));
      expect(lines.length, child.output).to.be.above(2);
      expect(child.stdout).not.to.include('\x1b');
      expect(child.stdout.split('\n').filter((l) => l.startsWith('{'))).to.deep.equal([]);
      const listening = lines.map(fieldsOfPrettyLine).find((l) => l.msg === 'listening');
      expect(listening, child.output).to.include({ level: 'info', port: String(child.port), public_url: `http://localhost:${child.port}`, env: 'development' });
    });

    it('logs once which ES512 signer it runs, and the metrics say the same', async () => {
      const built = existsSync(DEFAULT_ADDON_PATH);
      const lines = child.stdout.split('\n').filter((l) => /^\d{4}-\d\d-\d\dT\S+ (DEBUG|INFO|WARN|ERROR)\b/.test(l)).map(fieldsOfPrettyLine);
      const signer = lines.filter((l) => String(l.msg).startsWith('ES512 signer'));
      expect(signer.map((l) => [l.level, l.signer])).to.deep.equal([built ? ['info', 'native'] : ['warn', 'node']]);
      const metrics = await (await fetch(`${child.url}/metrics`)).text();
      expect(metrics).to.include(`postern_es512_signer{signer="${built ? 'native' : 'node'}"} 1`);
    });

    it('exits with code 0 on SIGTERM and stops listening', async () => {
      child.proc.kill('SIGTERM');
      const exit = await child.exitWithin(10_000);
      expect(exit, child.output).to.deep.equal({ code: 0, signal: null });
      expect(child.stdout).to.match(/ INFO  shutting down signal=SIGTERM /);
      let refused = false;
      try {
        await fetch(`${child.url}/healthz`, { signal: AbortSignal.timeout(2000) });
      } catch {
        refused = true;
      }
      expect(refused).to.equal(true);
    });
  });

  describe('development with ADMIN_TOKEN and LOG_FORMAT=json set', () => {
    it('does not print the token, the banner\'s curl reads it from $ADMIN_TOKEN, and logs JSON lines', async () => {
      // No load shedding: this test is about the token, not about a busy machine.
      const child = await start({ ADMIN_TOKEN, LOG_FORMAT: 'json', MAX_EVENT_LOOP_LAG_MS: '0' });
      await child.ready();
      await child.printed('/dev/mailbox');
      expect(child.stdout).not.to.include(ADMIN_TOKEN);
      expect(child.stderr).not.to.include(ADMIN_TOKEN);
      expect(child.stdout).not.to.include('Admin token');
      expect(child.stdout).to.include(`-H "Authorization: Bearer $ADMIN_TOKEN"`);
      expect(child.stdout).to.include('Generated for this run only: COOKIE_SECRETS, KEY_ENCRYPTION_KEY');
      // Pasted where the developer exported the token, the command works; without it, it does not.
      const curl = printedCurl(child.stdout);
      expect((await inShell(curl, { ADMIN_TOKEN })).app_id).to.be.a('string');
      expect((await inShell(curl)).error).to.equal('invalid_token');
      const lines = child.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { msg: string; port?: number });
      expect(lines.some((l) => l.msg === 'listening' && l.port === child.port), child.output).to.equal(true);
      child.proc.kill('SIGTERM');
      expect(await child.exitWithin(10_000)).to.deep.equal({ code: 0, signal: null });
    });
  });

  describe('refusing to start', () => {
    it('exits non-zero in production with nothing set, naming every missing setting', async () => {
      const child = await start({ NODE_ENV: 'production' });
      const exit = await child.exitWithin(20_000);
      expect(exit.code, child.output).to.be.a('number').and.not.equal(0);
      for (const name of ['ADMIN_TOKEN', 'COOKIE_SECRETS', 'KEY_ENCRYPTION_KEY', 'SMTP_URL', 'PUBLIC_URL']) {
        expect(child.stderr, name).to.include(name);
      }
      expect(child.stdout).not.to.include('Postern is running');
      expect(child.stderr).not.to.match(/\n\s+at .+:\d+:\d+/, 'a list of problems, not a stack trace');
    });

    it('exits non-zero when the V8 heap cap cannot hold PROVIDER_CACHE_MB, naming both ways out', async () => {
      // The default 256 needs 640 MiB; node started with a third of that.
      const bad = await start({ NODE_OPTIONS: '--max-old-space-size=200' });
      const exit = await bad.exitWithin(20_000);
      expect(exit.code, bad.output).to.be.a('number').and.not.equal(0);
      expect(bad.stderr).to.include('PROVIDER_CACHE_MB=256').and.include('--max-old-space-size=640');
      expect(bad.stdout).not.to.include('Postern is running');
      // A cache the cap holds starts.
      const fits = await start({ NODE_OPTIONS: '--max-old-space-size=200', PROVIDER_CACHE_MB: '64' });
      await fits.ready();
      expect(fits.stdout).to.include('Postern is running');
      fits.kill();
    });

    it('exits non-zero with PORT=abc, naming PORT', async () => {
      const bad = await start({ PORT: 'abc' }); // overrides the free port start() picks
      const exit = await bad.exitWithin(20_000);
      expect(exit.code, bad.output).to.be.a('number').and.not.equal(0);
      expect(bad.stderr).to.include('PORT');
      expect(bad.stderr).to.include('abc');
      expect(bad.stdout).not.to.include('Postern is running');
    });

    it('exits non-zero in production with an http PUBLIC_URL, naming PUBLIC_URL only', async () => {
      const child = await start({ ...productionEnv(`redis://127.0.0.1:${await freePort()}`), PUBLIC_URL: 'http://id.example.com' });
      const exit = await child.exitWithin(20_000);
      expect(exit.code, child.output).to.be.a('number').and.not.equal(0);
      expect(child.stderr).to.include('PUBLIC_URL');
      for (const name of ['ADMIN_TOKEN', 'COOKIE_SECRETS', 'KEY_ENCRYPTION_KEY', 'SMTP_URL']) expect(child.stderr).not.to.include(name);
    });
  });

  describe('refusing unsafe defaults', () => {
    /** Waits for a refusal: non-zero exit, never listening, problems listed rather than a stack trace. */
    async function refused(child: ServerProcess): Promise<string> {
      const exit = await child.exitWithin(20_000);
      expect(exit.code, child.output).to.be.a('number').and.not.equal(0);
      expect(child.stdout).not.to.match(/"msg":"listening"| INFO  listening /);
      expect(child.stdout).not.to.include('Postern is running');
      expect(child.stderr).not.to.match(/\n\s+at .+:\d+:\d+/, 'a list of problems, not a stack trace');
      return child.stderr;
    }

    it('exits non-zero with NODE_ENV unset and a public PUBLIC_URL, advising NODE_ENV=production', async () => {
      const stderr = await refused(await start({ PUBLIC_URL: 'https://id.example.com' }));
      expect(stderr).to.include('PUBLIC_URL');
      expect(stderr).to.include('NODE_ENV is unset');
      expect(stderr).to.include('Set NODE_ENV=production');
    });

    it('exits non-zero with NODE_ENV=development on 0.0.0.0', async () => {
      const stderr = await refused(await start({ NODE_ENV: 'development', PUBLIC_URL: 'http://0.0.0.0:3000' }));
      expect(stderr).to.include('PUBLIC_URL');
      expect(stderr).to.include('NODE_ENV=production');
    });

    it('exits non-zero in production with weak secrets, naming each and repeating none', async () => {
      const weak = { ADMIN_TOKEN: 'a'.repeat(32), KEY_ENCRYPTION_KEY: '0'.repeat(64) };
      const stderr = await refused(await start({ ...productionEnv(`redis://127.0.0.1:${await freePort()}`), ...weak }));
      for (const [name, value] of Object.entries(weak)) {
        expect(stderr, name).to.match(new RegExp(`^  - ${name} must be .*random`, 'm'));
        expect(stderr, name).not.to.include(value.slice(0, 16));
      }
      expect(stderr).not.to.include('COOKIE_SECRETS');
    });

    it('exits non-zero in production when COOKIE_SECRETS is ADMIN_TOKEN, naming both and repeating neither', async () => {
      const stderr = await refused(await start({ ...productionEnv(`redis://127.0.0.1:${await freePort()}`), COOKIE_SECRETS: ` ${ADMIN_TOKEN} ` }));
      expect(stderr).to.include('ADMIN_TOKEN and COOKIE_SECRETS hold the same secret');
      expect(stderr).not.to.include(ADMIN_TOKEN.slice(0, 16));
    });
  });

  describe('production with every secret set', () => {
    let child: ServerProcess;
    let redis: ChildProcess | undefined;

    before(async () => {
      const redisPort = await freePort();
      redis = await startRedis(redisPort);
      child = await start({ ...productionEnv(`redis://127.0.0.1:${redisPort}`), SMTP_URL: `smtp://127.0.0.1:${await freePort()}` });
      await child.ready();
    });

    after(() => {
      redis?.kill('SIGKILL');
    });

    it('starts and answers /healthz with 200', async () => {
      const res = await fetch(`${child.url}/healthz`);
      expect(res.status).to.equal(200);
      expect(await res.json()).to.deep.equal({ status: 'ok' });
    });

    it('logs JSON lines only', async () => {
      await child.printed('"msg":"listening"');
      const lines = child.stdout.split('\n').filter(Boolean);
      expect(lines.length).to.be.above(1);
      for (const line of lines) expect(() => JSON.parse(line), line).not.to.throw();
    });

    it('has no /dev/mailbox and no landing page (404)', async () => {
      for (const path of ['/dev/mailbox', '/']) {
        const res = await fetch(`${child.url}${path}`, { headers: { accept: 'text/html' } });
        expect(res.status, path).to.equal(404);
        expect(await res.text()).not.to.match(/mailbox|development/i);
      }
    });

    it('prints no development banner and never the admin token', () => {
      expect(child.stdout).not.to.include('Postern is running (development)');
      expect(child.stdout).not.to.include('Sign-in mail (no SMTP_URL set)');
      expect(child.stdout).not.to.include('Create an app:');
      expect(child.stdout).not.to.include(ADMIN_TOKEN);
      expect(child.stderr).not.to.include(ADMIN_TOKEN);
      expect(child.stdout).not.to.include(COOKIE_SECRETS);
      expect(child.stdout).not.to.include(KEY_ENCRYPTION_KEY);
    });

    it('accepts ADMIN_TOKEN and builds issuers from PUBLIC_URL', async () => {
      const res = await createApp(child, ADMIN_TOKEN);
      expect(res.status).to.equal(201);
      const app = (await res.json()) as { app_id: string; issuer: string };
      expect(app.issuer).to.equal(`https://id.example.com/apps/${app.app_id}`);
      expect(res.headers.get('strict-transport-security')).to.match(/max-age=\d+/);
    });

    it('exits with code 0 on SIGTERM', async () => {
      child.proc.kill('SIGTERM');
      expect(await child.exitWithin(10_000), child.output).to.deep.equal({ code: 0, signal: null });
    });
  });
});
