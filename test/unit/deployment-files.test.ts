// Keeps Dockerfile, docker-compose.yml and the production example in deploy/ honest: they
// may only set settings that exist (or their NAME_FILE spelling), must wire every secret
// production requires, probe routes that exist, pin their images, and may only copy or
// mount files that exist or that deploy/generate-secrets.sh writes. Docker is not needed:
// the files are parsed, and the secrets script is run for real.
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { load } from 'js-yaml';
import { loadConfig } from '../../config/load.ts';
import { SETTINGS } from '../../config/settings.ts';
import { rootRouter } from '../../src/http/root-routes.ts';
import { DEFAULT_ADDON_PATH } from '../../src/keys/native-signer.ts';
import { routesOf } from '../helpers/routes.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');

const REQUIRED_SECRETS = ['ADMIN_TOKEN', 'COOKIE_SECRETS', 'KEY_ENCRYPTION_KEY', 'PUBLIC_URL'];
const SETTING_NAMES = new Set(SETTINGS.flatMap((s) => [s.name, `${s.name}_FILE`]));

/** The paths Postern's root router answers GET on (health, readiness, …), read from the router itself. */
const ROOT_GET_PATHS = new Set(
  routesOf(
    rootRouter({
      phase: () => 'ready',
      readiness: () => ({ ready: true }),
      storage: 'memory',
      stylesheet: '',
      favicon: '',
      metrics: async () => ({ contentType: 'text/plain', body: '' }),
    }),
  )
    .filter((r) => r.methods.includes('GET'))
    .map((r) => r.path),
);

/** The path a health check command fetches from 127.0.0.1, which must be a GET route of Postern. */
function probedPath(command: unknown): string {
  const match = /http:\/\/127\.0\.0\.1:[^/]*\/([a-z]+)/.exec(JSON.stringify(command));
  expect(match, `no URL in ${JSON.stringify(command)}`).to.not.equal(null);
  const path = `/${match![1]}`;
  expect(ROOT_GET_PATHS.has(path), `${path} is a route`).to.equal(true);
  return path;
}

/** An image pinned to an exact version (x.y.z), never `latest` or a moving major tag. */
function expectPinned(image: string): void {
  expect(image, image).to.match(/^[a-z0-9./-]+:v?\d+\.\d+\.\d+(-[a-z0-9.]+)?$/);
}

/** The default of `${NAME:-default}` for the variable `name` (so it is overridable by that name). */
function overridableDefault(value: string | undefined, name: string): string {
  const match = new RegExp(`^\\$\\{${name}:-(.+)\\}$`).exec(value ?? '');
  expect(match, `${name} is \${${name}:-default}`).to.not.equal(null);
  return match![1]!;
}

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

  it("publishes Mailpit's web UI on this machine only: it shows every sign-in link it caught", () => {
    const mailpit = services.mailpit as { ports?: unknown[] };
    for (const port of mailpit.ports ?? []) {
      const published = typeof port === 'object' && port !== null ? String((port as { host_ip?: unknown }).host_ip) : String(port).split(':')[0];
      expect(published, String(port)).to.equal('127.0.0.1');
    }
  });

  it('gives postern a health check on /readyz, a route Postern has', () => {
    const healthcheck = postern.healthcheck as { test?: unknown } | undefined;
    expect(healthcheck, 'healthcheck').to.be.an('object');
    expect(probedPath(healthcheck?.test)).to.equal('/readyz');
  });

  it('pins every image to an exact version', () => {
    const images = Object.values(services).flatMap((s) => (s.image ? [String(s.image)] : []));
    expect(images).to.have.length(3);
    images.forEach(expectPinned);
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

  it('sends mail to Mailpit by default, a service it waits for, and lets SMTP_URL name a real server', () => {
    const smtp = URL.parse(overridableDefault(env.SMTP_URL, 'SMTP_URL'));
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

  it('builds every stage on node:24-slim pinned to the exact Node version the tests run on', () => {
    const images = all('FROM').map((args) => args.split(/\s+/)[0]);
    expect(images).to.not.be.empty;
    for (const image of images) expect(image).to.equal(`node:${process.versions.node}-slim`);
    expect(process.versions.node).to.match(/^24\./);
  });

  it('compiles the native ES512 signer in a stage of its own and ships it where Postern loads it from', () => {
    const stage = all('FROM')
      .map((args) => /\bAS\s+(\S+)/i.exec(args)?.[1])
      .find(Boolean);
    expect(stage, 'a named build stage').to.be.a('string');
    // The stage fails unless the addon was built (build.ts alone only warns).
    expect(all('RUN').some((r) => r.includes('native/es512/build.ts') && /test -f native\/es512\/build\/es512\.node/.test(r))).to.equal(true);
    const shipped = all('COPY').find((args) => args.startsWith(`--from=${stage} `));
    expect(shipped, 'COPY --from the build stage').to.be.a('string');
    const workdir = all('WORKDIR').at(-1)!;
    const target = shipped!.split(/\s+/).at(-1)!;
    expect(join(workdir, target)).to.equal(join(workdir, relative(ROOT, DEFAULT_ADDON_PATH)));
    // The runtime stage has the libcrypto.so.3 the addon opens (through the openssl package).
    expect(all('RUN').some((r) => /apt-get install[^&]*\bopenssl\b/.test(r))).to.equal(true);
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
    // A COPY --from takes its sources from a build stage, not from the repository.
    const copies = all('COPY').filter((args) => !args.startsWith('--from='));
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

  it('has a health check on /readyz, a route Postern has', () => {
    expect(probedPath(all('HEALTHCHECK').join(' '))).to.equal('/readyz');
  });

  it('keeps deploy/ (secrets), examples and docs out of the build context', () => {
    const ignored = read('.dockerignore').split('\n').map((l) => l.trim());
    expect(ignored).to.include.members(['deploy', 'examples', 'docs']);
  });
});

describe('deploy/docker-compose.production.yml', () => {
  const compose = load(read('deploy/docker-compose.production.yml')) as {
    services: Record<string, Service>;
    secrets?: Record<string, { file?: string }>;
    networks?: Record<string, { internal?: boolean }>;
  };
  const services = compose.services;
  const replicas = Object.keys(services).filter((name) => /^postern-\d+$/.test(name));
  const script = read('deploy/generate-secrets.sh');
  const caddyfile = read('deploy/Caddyfile');

  it('runs several Postern replicas with Redis, MongoDB and Caddy in front', () => {
    expect(replicas.length).to.be.greaterThanOrEqual(2);
    expect(services).to.include.keys('caddy', 'redis', 'mongo');
  });

  it('configures every replica identically, in production, behind a trusted proxy, with only settings Postern has', () => {
    const first = environmentOf(services[replicas[0]!]!);
    for (const name of replicas) expect(environmentOf(services[name]!), name).to.deep.equal(first);
    for (const name of Object.keys(first)) expect(SETTING_NAMES.has(name), `${name} is not a setting`).to.equal(true);
    expect(first).to.include({ NODE_ENV: 'production', TRUST_PROXY: 'true' });
    expect(first.PUBLIC_URL).to.match(/^https:\/\/\$\{PUBLIC_HOST:\?.+\}$/);
  });

  it('takes every secret production needs from a file, never from the environment', () => {
    const env = environmentOf(services[replicas[0]!]!);
    for (const name of ['ADMIN_TOKEN', 'COOKIE_SECRETS', 'KEY_ENCRYPTION_KEY', 'SMTP_URL', 'REDIS_URL', 'MONGODB_URI', 'METRICS_TOKEN']) {
      expect(env, name).to.not.have.property(name);
      expect(env[`${name}_FILE`], `${name}_FILE`).to.match(/^\/run\/secrets\/[a-z_]+$/);
    }
  });

  it('mounts each file a service reads as a secret of that service, and generate-secrets.sh writes every secret file but the SMTP URL', () => {
    const declared = compose.secrets ?? {};
    for (const [name, service] of Object.entries(services)) {
      const mounted = (service.secrets ?? []) as string[];
      const readPaths = JSON.stringify(service).match(/\/run\/secrets\/[a-z_]+/g) ?? [];
      for (const path of readPaths) expect(mounted, `${name} reads ${path}`).to.include(path.split('/').at(-1));
      for (const secret of mounted) expect(declared, `${name}: secret ${secret}`).to.have.property(secret);
    }
    for (const [name, { file }] of Object.entries(declared)) {
      expect(file, name).to.equal(`./secrets/${name}`);
      if (name !== 'smtp_url') expect(script, `generate-secrets.sh writes ${name}`).to.match(new RegExp(`\\bwrite ${name} `));
    }
    expect(read('deploy/secrets/.gitignore').split('\n')).to.include.members(['*', '!.gitignore']);
  });

  it('publishes ports from Caddy only, and keeps the stores on a network with no way out', () => {
    for (const [name, service] of Object.entries(services)) {
      if (name !== 'caddy') expect(service.ports, `${name} publishes ports`).to.equal(undefined);
    }
    expect(compose.networks?.data?.internal).to.equal(true);
    for (const store of ['redis', 'mongo']) expect(services[store]!.networks).to.deep.equal(['data']);
  });

  it('health-checks every replica on /readyz and makes them wait for healthy stores', () => {
    for (const name of replicas) {
      const service = services[name]!;
      expect(probedPath((service.healthcheck as { test: unknown }).test)).to.equal('/readyz');
      expect(service.depends_on).to.deep.include({ redis: { condition: 'service_healthy' }, mongo: { condition: 'service_healthy' } });
    }
  });

  it('pins every image to an exact version', () => {
    const images = Object.values(services).flatMap((s) => (s.image ? [String(s.image)] : []));
    expect(images).to.have.length(3);
    images.forEach(expectPinned);
  });

  it('has Caddy balance exactly the replicas, probing /readyz, for the host of PUBLIC_URL', () => {
    const upstreams = /reverse_proxy\s+([^{\n]+)\{/.exec(caddyfile)![1]!.trim().split(/\s+/);
    expect(upstreams).to.deep.equal(replicas.map((name) => `${name}:3000`));
    const healthUri = /^\s*health_uri\s+(\S+)/m.exec(caddyfile)![1]!;
    expect(healthUri).to.equal('/readyz');
    expect(ROOT_GET_PATHS.has(healthUri)).to.equal(true);
    expect(caddyfile).to.match(/^\{\$PUBLIC_HOST\} \{/m);
    expect(environmentOf(services.caddy!)).to.have.property('PUBLIC_HOST');
    const mounts = (services.caddy!.volumes ?? []) as string[];
    expect(mounts).to.include('./Caddyfile:/etc/caddy/Caddyfile:ro');
  });

  it('keeps /metrics off the public side', () => {
    expect(caddyfile).to.match(/@metrics path \/metrics /);
    expect(caddyfile).to.match(/respond @metrics 404/);
  });

  describe('generate-secrets.sh, run for real', () => {
    let dir: string;
    before(() => {
      dir = mkdtempSync(join(tmpdir(), 'postern-deploy-'));
      mkdirSync(join(dir, 'secrets'));
      copyFileSync(join(ROOT, 'deploy/generate-secrets.sh'), join(dir, 'generate-secrets.sh'));
    });
    after(() => rmSync(dir, { recursive: true, force: true }));
    const secret = (name: string) => join(dir, 'secrets', name);

    it('writes secrets that Postern accepts in production through the *_FILE settings of the compose file', () => {
      const output = execFileSync('sh', [join(dir, 'generate-secrets.sh')], { encoding: 'utf8' });
      expect(output).to.include('still to do').and.include('smtp_url');
      writeFileSync(secret('smtp_url'), 'smtp://mailer:secret@smtp.example.com:587\n');
      const env: Record<string, string> = { NODE_ENV: 'production', PUBLIC_URL: 'https://login.example.com' };
      for (const [name, value] of Object.entries(environmentOf(services[replicas[0]!]!))) {
        if (name.endsWith('_FILE')) env[name] = value.replace('/run/secrets/', `${dir}/secrets/`);
      }
      const config = loadConfig(env);
      expect(config.redisUrl).to.match(/^redis:\/\/:[0-9a-f]{64}@redis:6379$/);
      expect(config.mongodbUri).to.match(/^mongodb:\/\/postern:[0-9a-f]{64}@mongo:27017\/postern/);
      expect(fileText(secret('redis_conf'))).to.equal(`requirepass ${new URL(config.redisUrl!).password}\n`);
      expect(fileText(secret('mongo_password')).trim()).to.equal(new URL(config.mongodbUri!).password);
      expect(statSync(join(dir, 'secrets')).mode & 0o077, 'secrets directory private').to.equal(0);
    });

    it('never overwrites a secret on a second run (a new KEY_ENCRYPTION_KEY would lock every stored key)', () => {
      const before = ['key_encryption_key', 'admin_token', 'redis_url', 'mongodb_uri'].map((n) => fileText(secret(n)));
      const output = execFileSync('sh', [join(dir, 'generate-secrets.sh')], { encoding: 'utf8' });
      expect(output).not.to.include('wrote');
      expect(['key_encryption_key', 'admin_token', 'redis_url', 'mongodb_uri'].map((n) => fileText(secret(n)))).to.deep.equal(before);
    });
  });
});

function fileText(path: string): string {
  return readFileSync(path, 'utf8');
}

describe('package.json: the examples', () => {
  const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;
  const examples = Object.entries(scripts).filter(([name]) => name.startsWith('example:'));
  const guide = read('docs/integrating.md');

  it('has one script per example directory, each running a file that exists, documented in docs/integrating.md', () => {
    expect(examples.map(([name]) => name).sort()).to.deep.equal(['example:api', 'example:spa', 'example:web']);
    for (const [name, command] of examples) {
      const script = command.split(/\s+/).find((part) => part.startsWith('examples/'));
      expect(script, name).to.equal(`examples/${name.slice('example:'.length)}/server.ts`);
      expect(existsSync(join(ROOT, script!)), `${script} exists`).to.equal(true);
      expect(guide, `${name} documented`).to.include(`npm run ${name}`);
      expect(existsSync(join(ROOT, 'test/examples', `${name.slice('example:'.length)}.test.ts`)), `${name} tested`).to.equal(true);
    }
  });
});
