// Real Postern processes (src/main.ts on this Node), for multi-instance and restart tests,
// and a tiny load balancer in front of them whose target the test chooses per step.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { ADMIN_TOKEN, Harness } from './harness.ts';
import { RedisServer, freePort } from './redis-server.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export class Instance {
  readonly port: number;
  readonly env: Record<string, string>;
  output = '';
  #child: ChildProcess | undefined;
  /** The script run (src/main.ts, or an example) and the path that answers 200 once it serves. */
  readonly #script: string;
  readonly #readyPath: string;

  constructor(port: number, env: Record<string, string>, process: { script?: string; readyPath?: string } = {}) {
    this.port = port;
    this.env = env;
    this.#script = process.script ?? 'src/main.ts';
    this.#readyPath = process.readyPath ?? '/healthz';
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', this.#script], {
      cwd: ROOT,
      // No load shedding unless a test asks for it: test processes share two busy cores,
      // and their stalls are the machine's, not Postern's (shedding has tests of its own).
      env: { PATH: process.env.PATH ?? '', MAX_EVENT_LOOP_LAG_MS: '0', ...this.env, PORT: String(this.port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.#child = child;
    child.stdout?.on('data', (d: Buffer) => (this.output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (this.output += d.toString()));
    // A deadline, not a count of polls: on a loaded machine a start takes several seconds.
    for (const deadline = performance.now() + 30_000; performance.now() < deadline; ) {
      if (child.exitCode !== null) throw new Error(`instance exited early (${child.exitCode}):\n${this.output}`);
      try {
        if ((await fetch(`${this.url}${this.#readyPath}`)).status === 200) return this;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`instance did not become healthy:\n${this.output}`);
  }

  /** Waits (polling, at most `timeoutMs`) until the process has printed something matching `pattern`. */
  async printed(pattern: RegExp, timeoutMs = 10_000): Promise<void> {
    for (const deadline = Date.now() + timeoutMs; !pattern.test(this.output); await new Promise((r) => setTimeout(r, 20))) {
      if (Date.now() > deadline) throw new Error(`nothing matching ${pattern} printed within ${timeoutMs} ms:\n${this.output}`);
    }
  }

  /** The JSON log lines printed so far with this message. */
  logged(msg: string): Record<string, unknown>[] {
    return this.output
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((line) => line.msg === msg);
  }

  /** Sends the signal and waits for the process to end (and its output to be read); its exit code. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<number | null> {
    const child = this.#child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return child?.exitCode ?? null;
    const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
    child.kill(signal);
    return exited;
  }
}

/** Forwards every request to `targets[target]`; the test switches `target` between steps. */
export class LoadBalancer {
  target = 0;
  readonly targets: string[] = [];
  port = 0;
  #server: Server | undefined;

  get url(): string {
    return `http://localhost:${this.port}`;
  }

  async start(): Promise<this> {
    this.#server = createServer((req, res) => {
      const upstream = new URL(req.url ?? '/', this.targets[this.target]);
      const proxied = request(upstream, { method: req.method, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      proxied.on('error', () => {
        res.writeHead(502).end();
      });
      req.pipe(proxied);
    });
    await new Promise<void>((resolve) => this.#server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.#server.address() as AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    this.#server?.closeAllConnections();
    await new Promise((resolve) => this.#server?.close(resolve));
  }
}

/**
 * Postern processes sharing one real Redis behind a load balancer (PUBLIC_URL is the
 * balancer), sending mail to the harness's SMTP capture, which also drives the flows.
 */
export class Cluster {
  readonly redis = new RedisServer();
  readonly lb = new LoadBalancer();
  readonly h = new Harness();
  readonly instances: Instance[] = [];

  async start(count: number): Promise<this> {
    await this.redis.start();
    await this.lb.start();
    await this.h.attach(this.lb.url);
    const env = {
      NODE_ENV: 'test',
      PUBLIC_URL: this.lb.url,
      REDIS_URL: this.redis.url,
      SMTP_URL: this.h.smtp.url,
      ADMIN_TOKEN,
      COOKIE_SECRETS: 'cluster-cookie-secret-0123456789abcdef0123456789',
      KEY_ENCRYPTION_KEY: '0bfa2c42f094b808c5f8abd4e47c04e19c0ee9e55406189d8cc643de65db932c',
      LOG_LEVEL: 'warn',
    };
    for (let i = 0; i < count; i++) {
      const instance = new Instance(await freePort(), env);
      this.instances.push(instance);
      this.lb.targets.push(instance.url);
    }
    await Promise.all(this.instances.map((i) => i.start()));
    return this;
  }

  async stop(): Promise<void> {
    await Promise.all(this.instances.map((i) => i.kill('SIGKILL')));
    await this.lb.stop();
    await this.h.stop();
    await this.redis.destroy();
  }
}
