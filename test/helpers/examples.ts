// The examples in examples/ as their users run them: a real Postern process (mail to the
// harness's SMTP capture, which also creates apps and plays the person) and each example
// as a process of its own, started as `npm run example:…` would start it.
import { ADMIN_TOKEN, Harness } from './harness.ts';
import { Instance } from './instance.ts';
import { freePort } from './redis-server.ts';

export class ExampleRig {
  readonly h = new Harness();
  postern!: Instance;
  readonly #examples: Instance[] = [];

  async start(): Promise<this> {
    const port = await freePort();
    // localhost, as the examples' origins: one site, as app.example.com and login.example.com are.
    await this.h.attach(`http://localhost:${port}`);
    this.postern = await new Instance(port, {
      NODE_ENV: 'test',
      PUBLIC_URL: this.h.url,
      SMTP_URL: this.h.smtp.url,
      ADMIN_TOKEN,
      COOKIE_SECRETS: 'examples-cookie-secret-0123456789abcdef0123456789',
      KEY_ENCRYPTION_KEY: '5d2c0b8e3f7a4196b1e0c9d8a7f6e5d4c3b2a19087f6e5d4c3b2a1908f7e6d5c',
      LOG_LEVEL: 'warn',
    }).start();
    return this;
  }

  /** Starts `script` (e.g. examples/web/server.ts) on `port` at http://localhost:port; resolves once `readyPath` answers 200. */
  async example(script: string, port: number, env: Record<string, string>, readyPath = '/'): Promise<Instance> {
    const example = new Instance(port, { ...env, APP_URL: `http://localhost:${port}` }, { script, readyPath });
    this.#examples.push(example);
    return example.start();
  }

  async stop(): Promise<void> {
    await Promise.all([...this.#examples, this.postern].map((p) => p?.kill('SIGKILL')));
    await this.h.stop();
  }
}

export { freePort };
