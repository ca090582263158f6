// Keeps Dockerfile and docker-compose.yml honest: they may only set settings that exist,
// must wire every secret production requires, and may only copy files that exist.
import { expect } from 'chai';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { load } from 'js-yaml';
import { SETTINGS } from '../../config/settings.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');

const REQUIRED_SECRETS = ['ADMIN_TOKEN', 'COOKIE_SECRETS', 'KEY_ENCRYPTION_KEY', 'PUBLIC_URL'];
const SETTING_NAMES = new Set(SETTINGS.map((s) => s.name));

type Service = Record<string, unknown>;

/** Compose allows `environment` as a map or as a list of NAME=value. */
function environmentOf(service: Service): Record<string, string> {
  const env = service.environment;
  if (Array.isArray(env)) {
    return Object.fromEntries(
      env.map((entry: unknown) => {
        const text = String(entry);
        const eq = text.indexOf('=');
        return eq < 0 ? [text, ''] : [text.slice(0, eq), text.slice(eq + 1)];
      }),
    );
  }
  return Object.fromEntries(Object.entries((env ?? {}) as Record<string, unknown>).map(([k, v]) => [k, String(v ?? '')]));
}

/** Dockerfile instructions with line continuations joined and comments dropped. */
function instructions(text: string): { op: string; args: string }[] {
  const joined = text
    .split('\n')
    .filter((line) => !/^\s*#/.test(line))
    .join('\n')
    .replace(/\\\n/g, ' ');
  return joined
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => {
      const [op = '', ...rest] = line.split(/\s+/);
      return { op: op.toUpperCase(), args: rest.join(' ') };
    });
}

describe('docker-compose.yml', () => {
  const compose = load(read('docker-compose.yml')) as { services?: Record<string, Service> };
  const services = compose.services ?? {};
  const postern = services.postern ?? {};
  const env = environmentOf(postern);

  it('has the services postern, redis, mongo and mailpit', () => {
    expect(services).to.include.keys('postern', 'redis', 'mongo', 'mailpit');
  });

  it('points REDIS_URL and MONGODB_URI at its own services, which postern waits for', () => {
    for (const [name, service] of [['REDIS_URL', 'redis'], ['MONGODB_URI', 'mongo']] as const) {
      const url = URL.parse(env[name] ?? '');
      expect(url, name).to.not.equal(null);
      expect(url!.hostname, name).to.equal(service);
      expect(Object.keys((postern.depends_on ?? {}) as object)).to.include(service);
      expect(services[service]?.healthcheck, `${service} healthcheck`).to.be.an('object');
    }
    expect(URL.parse(env.MONGODB_URI ?? '')!.pathname.length, 'MONGODB_URI names a database').to.be.greaterThan(1);
  });

  it('runs Redis with AOF persistence on a named volume', () => {
    const redis = services.redis ?? {};
    const command = Array.isArray(redis.command) ? (redis.command as string[]).join(' ') : String(redis.command ?? '');
    expect(command).to.match(/--appendonly yes/);
    const volumes = (redis.volumes ?? []) as string[];
    expect(volumes.some((v) => v.endsWith(':/data'))).to.equal(true);
    expect((compose as { volumes?: object }).volumes ?? {}).to.have.property(volumes[0]!.split(':')[0]!);
  });

  it('builds postern from the repository root and publishes port 3000', () => {
    const build = postern.build;
    const context = typeof build === 'string' ? build : (build as { context?: string } | undefined)?.context;
    expect(context).to.equal('.');
    const ports = ((postern.ports ?? []) as unknown[]).map((p) =>
      typeof p === 'object' && p !== null ? String((p as { target?: unknown }).target) : String(p).split(':').at(-1),
    );
    expect(ports).to.include('3000');
  });

  it('gives postern a health check on /healthz', () => {
    const healthcheck = postern.healthcheck as { test?: unknown } | undefined;
    expect(healthcheck, 'healthcheck').to.be.an('object');
    expect(JSON.stringify(healthcheck?.test)).to.include('/healthz');
  });

  it('sets only environment variables that are settings in config/settings.ts', () => {
    expect(Object.keys(env)).to.not.be.empty;
    for (const name of Object.keys(env)) expect(SETTING_NAMES.has(name), `${name} is not a setting`).to.equal(true);
  });

  it('wires every secret production requires, and refuses to start without it', () => {
    for (const name of REQUIRED_SECRETS) {
      expect(env, name).to.have.property(name);
      // ${NAME:?message}: compose stops with the message when the variable is unset or empty.
      expect(env[name], name).to.match(new RegExp(`^\\$\\{${name}:\\?.+\\}$`));
    }
  });

  it('runs in production unless told otherwise, so it never serves development mode by omission', () => {
    expect(env.NODE_ENV).to.equal('${NODE_ENV:-production}');
  });

  it('sends mail to a host that is one of its services', () => {
    const smtp = URL.parse(env.SMTP_URL ?? '');
    expect(smtp, 'SMTP_URL').to.not.equal(null);
    expect(['smtp:', 'smtps:']).to.include(smtp!.protocol);
    expect(Object.keys(services)).to.include(smtp!.hostname);
    expect(postern.depends_on).to.satisfy((deps: unknown) =>
      Array.isArray(deps) ? deps.includes(smtp!.hostname) : Object.keys((deps ?? {}) as object).includes(smtp!.hostname),
    );
  });
});

describe('Dockerfile', () => {
  const steps = instructions(read('Dockerfile'));
  const all = (op: string) => steps.filter((s) => s.op === op).map((s) => s.args);

  it('builds on node:24-slim', () => {
    expect(all('FROM')).to.deep.equal(['node:24-slim']);
  });

  it('runs as a user other than root', () => {
    const user = all('USER').at(-1);
    expect(user, 'USER').to.be.a('string');
    expect(user!.split(':')[0]).to.not.be.oneOf(['root', '0']);
  });

  it('installs production dependencies only, from the lockfile', () => {
    expect(all('RUN').some((r) => /\bnpm ci\b[^&|;]*--omit=dev\b/.test(r))).to.equal(true);
  });

  it('exposes port 3000 and sets NODE_ENV=production', () => {
    expect(all('EXPOSE').join(' ').split(/\s+/)).to.include('3000');
    expect(all('ENV').join(' ')).to.match(/\bNODE_ENV[= ]production\b/);
  });

  it('copies only files and directories that exist, and none the .dockerignore excludes', () => {
    const ignored = new Set(
      read('.dockerignore')
        .split('\n')
        .map((l) => l.trim().replace(/\/$/, ''))
        .filter((l) => l && !l.startsWith('#')),
    );
    const copies = all('COPY');
    expect(copies).to.not.be.empty;
    for (const args of copies) {
      const parts = args.split(/\s+/).filter((p) => !p.startsWith('--'));
      const sources = parts.slice(0, -1);
      expect(sources, args).to.not.be.empty;
      for (const source of sources) {
        const path = source.replace(/\/$/, '');
        expect(existsSync(join(ROOT, path)), `${source} exists`).to.equal(true);
        expect(ignored.has(path), `${source} is excluded by .dockerignore`).to.equal(false);
      }
    }
  });

  it('starts a script that exists in the repository', () => {
    const cmd = all('CMD').at(-1);
    expect(cmd, 'CMD').to.be.a('string');
    const argv = JSON.parse(cmd!) as string[];
    expect(argv[0]).to.equal('node');
    const script = argv.slice(1).find((a) => !a.startsWith('-'));
    expect(script, 'script').to.be.a('string');
    expect(existsSync(join(ROOT, script!)), `${script} exists`).to.equal(true);
  });

  it('has a health check on /healthz', () => {
    expect(all('HEALTHCHECK').join(' ')).to.include('/healthz');
  });
});
