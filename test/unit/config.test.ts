// loadConfig: safe development defaults, a hard stop in production for anything missing,
// and every problem reported at once, each naming its setting.
import { expect } from 'chai';
import { createPrivateKey, generateKeyPairSync, randomBytes, randomInt, randomUUID } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig, type Config } from '../../config/load.ts';
import { CONFIGURATION_DOC, settingsTable, withSettingsTable } from '../../config/settings-table.ts';
import { SETTINGS } from '../../config/settings.ts';
import { makeTlsFiles, type TlsFiles } from '../helpers/tls-files.ts';

const ADMIN_TOKEN = 'admin-token-0123456789abcdef0123456789abcdef';
const COOKIE_SECRET = 'cookie-secret-0123456789abcdef0123456789abcd';
const KEK_HEX = 'c0bef017874f3338df593a6d01f3313ede98ae0ae802c531e187a47cfe67b698';

const PRODUCTION: Record<string, string> = {
  NODE_ENV: 'production',
  PUBLIC_URL: 'https://id.example.com',
  ADMIN_TOKEN,
  COOKIE_SECRETS: COOKIE_SECRET,
  KEY_ENCRYPTION_KEY: KEK_HEX,
  SMTP_URL: 'smtp://mailer:secret@smtp.example.com:587',
  // Production needs durable storage; a Redis URL satisfies that (it is not contacted here).
  REDIS_URL: 'redis://redis.internal:6379',
};

/** The problems loadConfig reports for `env`; fails the test if it loads. */
function problemsOf(env: Record<string, string | undefined>): readonly string[] {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).to.be.instanceOf(ConfigError);
    const problems = (err as ConfigError).problems;
    expect(problems).to.be.an('array').that.is.not.empty;
    // The message lists every problem, so an operator sees them all in one go.
    for (const p of problems) expect((err as Error).message).to.include(p);
    return problems;
  }
  throw new Error(`expected loadConfig to refuse ${JSON.stringify(env)}`);
}

/** Exactly one problem, and it names `setting`. */
function oneProblemNaming(env: Record<string, string | undefined>, setting: string): string {
  const problems = problemsOf(env);
  expect(problems, JSON.stringify(problems)).to.have.length(1);
  expect(problems[0]).to.include(setting);
  return problems[0]!;
}

describe('loadConfig', () => {
  describe('development defaults', () => {
    let config: Config;
    before(() => {
      config = loadConfig({});
    });

    it('defaults to development on port 3000 at http://localhost:3000', () => {
      expect(config.env).to.equal('development');
      expect(config.port).to.equal(3000);
      expect(config.publicUrl).to.equal('http://localhost:3000');
    });

    it('generates the missing secrets and lists them in `generated`', () => {
      expect([...config.generated].sort()).to.deep.equal(['ADMIN_TOKEN', 'COOKIE_SECRETS', 'KEY_ENCRYPTION_KEY']);
      expect(config.adminToken).to.be.a('string').with.length.of.at.least(32);
      expect(config.cookieSecrets).to.have.length(1);
      expect(config.cookieSecrets[0]).to.be.a('string').with.length.of.at.least(32);
      expect(config.keyEncryptionKey).to.be.instanceOf(Buffer).with.length(32);
      expect(config.keyEncryptionKey.equals(Buffer.alloc(32)), 'not an all-zero key').to.equal(false);
    });

    it('generates fresh, random secrets on every load', () => {
      const other = loadConfig({});
      expect(other.adminToken).not.to.equal(config.adminToken);
      expect(other.cookieSecrets[0]).not.to.equal(config.cookieSecrets[0]);
      expect(other.keyEncryptionKey.equals(config.keyEncryptionKey)).to.equal(false);
    });

    it('has no SMTP_URL, logs at info, does not trust a proxy, and sends from the PUBLIC_URL host', () => {
      expect(config.smtpUrl).to.equal(undefined);
      expect(config.logLevel).to.equal('info');
      expect(config.trustProxy).to.equal(false);
      expect(config.mailFrom).to.equal('Postern <no-reply@localhost>');
    });

    it('returns a frozen config', () => {
      expect(Object.isFrozen(config)).to.equal(true);
      expect(Object.isFrozen(config.generated)).to.equal(true);
      expect(Object.isFrozen(config.cookieSecrets)).to.equal(true);
    });

    it('does not list secrets that were given as generated, and uses them', () => {
      const given = loadConfig({ ADMIN_TOKEN, COOKIE_SECRETS: COOKIE_SECRET, KEY_ENCRYPTION_KEY: KEK_HEX });
      expect(given.generated).to.deep.equal([]);
      expect(given.adminToken).to.equal(ADMIN_TOKEN);
      expect(given.cookieSecrets).to.deep.equal([COOKIE_SECRET]);
      expect(given.keyEncryptionKey.toString('hex')).to.equal(KEK_HEX);
    });

    it('treats empty and whitespace-only values as unset', () => {
      const config = loadConfig({ PORT: '', ADMIN_TOKEN: '   ', LOG_LEVEL: '' });
      expect(config.port).to.equal(3000);
      expect(config.generated).to.include('ADMIN_TOKEN');
      expect(config.logLevel).to.equal('info');
    });

    it('treats NODE_ENV=test like development (secrets generated)', () => {
      const config = loadConfig({ NODE_ENV: 'test' });
      expect(config.env).to.equal('test');
      expect(config.generated).to.include('ADMIN_TOKEN');
    });
  });

  describe('PORT and PUBLIC_URL', () => {
    it('makes the default PUBLIC_URL follow PORT', () => {
      const config = loadConfig({ PORT: '8123' });
      expect(config.port).to.equal(8123);
      expect(config.publicUrl).to.equal('http://localhost:8123');
      expect(config.mailFrom).to.equal('Postern <no-reply@localhost>');
    });

    it('uses PUBLIC_URL as given, reduced to its origin, and takes the mail host from it', () => {
      const config = loadConfig({ ...PRODUCTION, PORT: '8123', PUBLIC_URL: 'https://ID.Example.com/' });
      expect(config.publicUrl).to.equal('https://id.example.com');
      expect(config.port).to.equal(8123);
      expect(config.mailFrom).to.equal('Postern <no-reply@id.example.com>');
    });

    it('keeps an explicit port in PUBLIC_URL', () => {
      expect(loadConfig({ PUBLIC_URL: 'http://localhost:9000' }).publicUrl).to.equal('http://localhost:9000');
    });

    it('accepts the PORT bounds 1 and 65535', () => {
      expect(loadConfig({ PORT: '1' }).port).to.equal(1);
      expect(loadConfig({ PORT: '65535' }).port).to.equal(65535);
    });

    for (const port of ['abc', '0', '65536', '-1', '3000.5', '1e3', '0x10', '30 00']) {
      it(`rejects PORT=${JSON.stringify(port)} naming PORT`, () => {
        oneProblemNaming({ PORT: port }, 'PORT');
      });
    }

    for (const url of [
      'https://id.example.com/postern',
      'https://id.example.com/?x=1',
      'https://id.example.com/#frag',
      'https://user:pass@id.example.com',
      'ftp://id.example.com',
      'id.example.com',
      'not a url',
    ]) {
      it(`rejects PUBLIC_URL=${JSON.stringify(url)} naming PUBLIC_URL`, () => {
        oneProblemNaming({ PUBLIC_URL: url }, 'PUBLIC_URL');
      });
    }
  });

  describe('production', () => {
    it('loads a complete, valid production environment', () => {
      const config = loadConfig(PRODUCTION);
      expect(config.env).to.equal('production');
      expect(config.publicUrl).to.equal('https://id.example.com');
      expect(config.adminToken).to.equal(ADMIN_TOKEN);
      expect(config.cookieSecrets).to.deep.equal([COOKIE_SECRET]);
      expect(config.keyEncryptionKey.toString('hex')).to.equal(KEK_HEX);
      expect(config.smtpUrl).to.equal(PRODUCTION.SMTP_URL);
      expect(config.generated).to.deep.equal([]);
      expect(config.mailFrom).to.equal('Postern <no-reply@id.example.com>');
    });

    it('refuses to start with nothing set, naming every missing setting', () => {
      const problems = problemsOf({ NODE_ENV: 'production' });
      const text = problems.join('\n');
      for (const name of ['ADMIN_TOKEN', 'COOKIE_SECRETS', 'KEY_ENCRYPTION_KEY', 'SMTP_URL', 'PUBLIC_URL']) {
        expect(problems.filter((p) => p.includes(name)), name).to.have.length(1);
      }
      expect(problems.length).to.be.at.least(5);
    });

    for (const name of ['ADMIN_TOKEN', 'COOKIE_SECRETS', 'KEY_ENCRYPTION_KEY', 'SMTP_URL']) {
      it(`refuses a missing ${name} and never generates it`, () => {
        const problem = oneProblemNaming({ ...PRODUCTION, [name]: undefined }, name);
        expect(problem).to.match(/required/);
        oneProblemNaming({ ...PRODUCTION, [name]: '  ' }, name);
      });
    }

    it('refuses a missing PUBLIC_URL (the http://localhost default is not https)', () => {
      oneProblemNaming({ ...PRODUCTION, PUBLIC_URL: undefined }, 'PUBLIC_URL');
    });

    it('refuses an http PUBLIC_URL', () => {
      const problem = oneProblemNaming({ ...PRODUCTION, PUBLIC_URL: 'http://id.example.com' }, 'PUBLIC_URL');
      expect(problem).to.include('https');
    });

    it('reports a malformed PUBLIC_URL once, not again as "not https"', () => {
      oneProblemNaming({ ...PRODUCTION, PUBLIC_URL: 'ftp://id.example.com' }, 'PUBLIC_URL');
    });

    it('reports several problems together', () => {
      const problems = problemsOf({ ...PRODUCTION, ADMIN_TOKEN: 'short', LOG_LEVEL: 'loud', PORT: 'x' });
      expect(problems).to.have.length(3);
      expect(problems.some((p) => p.includes('ADMIN_TOKEN'))).to.equal(true);
      expect(problems.some((p) => p.includes('LOG_LEVEL'))).to.equal(true);
      expect(problems.some((p) => p.includes('PORT'))).to.equal(true);
    });
  });

  describe('secret formats', () => {
    it('rejects an ADMIN_TOKEN shorter than 32 characters', () => {
      const random32 = '4shYY5rz23yTKHUoYcFdsvfbueFuYFey';
      oneProblemNaming({ ADMIN_TOKEN: random32.slice(1) }, 'ADMIN_TOKEN');
      expect(loadConfig({ ADMIN_TOKEN: random32 }).adminToken).to.equal(random32);
    });

    it('refuses an ADMIN_TOKEN or METRICS_TOKEN with spaces or non-ASCII letters, which no Bearer header can carry, without repeating it', () => {
      for (const setting of ['ADMIN_TOKEN', 'METRICS_TOKEN']) {
        for (const token of ['Zq8w3Lm1 Xp7Rv2Tn9 Kc4Hs6Bd Wq1Ek9Pr3Mz7', '4shYY5rz23yTKHUoYcFdsvfbueFuYFeyé', '4shYY5rz23yTKHUo\tYcFdsvfbueFuYFey']) {
          const problem = oneProblemNaming({ [setting]: token }, setting);
          expect(problem).to.include('visible ASCII').and.not.include(token);
        }
      }
      // Base64, base64url and hex tokens (what `openssl rand` makes) are all visible ASCII.
      for (const token of ['q3+/Vn8Hd0Jt1w9Zr4yXk2Lm5Pa6Sb7Qc8Re9Tf0Ug=', 'q3-_Vn8Hd0Jt1w9Zr4yXk2Lm5Pa6Sb7Qc8Re9Tf0Ug', 'a08e89658b7aeb4a0f5269fd7f9bb437']) {
        expect(loadConfig({ ADMIN_TOKEN: token }).adminToken).to.equal(token);
      }
    });

    it('accepts KEY_ENCRYPTION_KEY as 64 hex characters, base64 and base64url', () => {
      const key = Buffer.from(KEK_HEX, 'hex');
      for (const raw of [KEK_HEX, KEK_HEX.toUpperCase(), key.toString('base64'), key.toString('base64url')]) {
        expect(loadConfig({ KEY_ENCRYPTION_KEY: raw }).keyEncryptionKey.equals(key), raw).to.equal(true);
      }
      // Its base64 holds '+' and '/', its base64url '-' and '_'.
      const special = Buffer.from('81ac9ab050d144773eb64385fc3171ae49181066b80b9da9e7f83f0e95dbff4d', 'hex');
      expect(loadConfig({ KEY_ENCRYPTION_KEY: special.toString('base64') }).keyEncryptionKey.equals(special)).to.equal(true);
      expect(loadConfig({ KEY_ENCRYPTION_KEY: special.toString('base64url') }).keyEncryptionKey.equals(special)).to.equal(true);
    });

    for (const [label, raw] of [
      ['too short', 'abc'],
      ['63 hex characters', KEK_HEX.slice(1)],
      ['65 hex characters', `${KEK_HEX}0`],
      ['non-hex characters', `${KEK_HEX.slice(2)}zz`],
      ['16 bytes in base64', Buffer.alloc(16, 1).toString('base64')],
      ['48 bytes in base64', Buffer.alloc(48, 1).toString('base64')],
    ] as const) {
      it(`rejects KEY_ENCRYPTION_KEY (${label}) naming KEY_ENCRYPTION_KEY`, () => {
        oneProblemNaming({ KEY_ENCRYPTION_KEY: raw }, 'KEY_ENCRYPTION_KEY');
      });
    }

    it('splits COOKIE_SECRETS on commas (first signs, all listed)', () => {
      const second = 'second-cookie-secret-0123456789abcdef0123';
      const config = loadConfig({ COOKIE_SECRETS: ` ${COOKIE_SECRET} , ${second} ` });
      expect(config.cookieSecrets).to.deep.equal([COOKIE_SECRET, second]);
    });

    for (const [label, raw] of [
      ['a short key', 'too-short'],
      ['one short key in a list', `${COOKIE_SECRET},short`],
      ['an empty entry', `${COOKIE_SECRET},`],
    ] as const) {
      it(`rejects COOKIE_SECRETS with ${label} naming COOKIE_SECRETS`, () => {
        oneProblemNaming({ COOKIE_SECRETS: raw }, 'COOKIE_SECRETS');
      });
    }
  });

  describe('development runs only on this machine', () => {
    // NODE_ENV unset, development and test all mean development mode.
    const MODES: Record<string, string>[] = [{}, { NODE_ENV: 'development' }, { NODE_ENV: 'test' }];

    for (const [url, origin] of [
      ['http://localhost:3000', 'http://localhost:3000'],
      ['https://localhost', 'https://localhost'],
      ['http://LOCALHOST:3000', 'http://localhost:3000'],
      ['http://local%68ost:3000', 'http://localhost:3000'],
      ['http://localhost.:3000', 'http://localhost.:3000'],
      ['http://app.localhost:3000', 'http://app.localhost:3000'],
      ['http://App.LocalHost.:3000', 'http://app.localhost.:3000'],
      ['http://127.0.0.1:3000', 'http://127.0.0.1:3000'],
      ['http://127.1:3000', 'http://127.0.0.1:3000'],
      ['http://0x7f.0.0.1:3000', 'http://127.0.0.1:3000'],
      ['http://2130706433:3000', 'http://127.0.0.1:3000'],
      ['http://127.255.255.254', 'http://127.255.255.254'],
      ['http://[::1]:3000', 'http://[::1]:3000'],
      ['http://[0:0:0:0:0:0:0:1]:3000', 'http://[::1]:3000'],
    ]) {
      it(`accepts PUBLIC_URL=${url} outside production, as ${origin}`, () => {
        for (const mode of MODES) expect(loadConfig({ ...mode, PUBLIC_URL: url }).publicUrl, JSON.stringify(mode)).to.equal(origin);
      });
    }

    for (const url of [
      'https://id.example.com',
      'http://192.168.1.20:3000',
      'http://0.0.0.0:3000',
      'http://[::]:3000',
      'http://[::ffff:127.0.0.1]:3000',
      'http://128.0.0.1',
      'http://localhost.example.com',
      'http://localhost%2eexample.com',
      'http://127.0.0.1.nip.io',
      'http://mylocalhost:3000',
      'http://.localhost:3000',
      'http://app..localhost:3000',
      'http://localhost..:3000',
    ]) {
      it(`refuses PUBLIC_URL=${url} outside production, advising NODE_ENV=production`, () => {
        for (const mode of MODES) {
          const problem = oneProblemNaming({ ...mode, PUBLIC_URL: url }, 'PUBLIC_URL');
          expect(problem).to.include('NODE_ENV=production');
          expect(problem).to.include('/dev/mailbox');
        }
      });
    }

    it('says whether NODE_ENV is unset or which mode it names', () => {
      expect(oneProblemNaming({ PUBLIC_URL: 'https://id.example.com' }, 'PUBLIC_URL')).to.include('NODE_ENV is unset, which means development');
      expect(oneProblemNaming({ NODE_ENV: 'test', PUBLIC_URL: 'https://id.example.com' }, 'PUBLIC_URL')).to.include('NODE_ENV=test');
    });

    it('lets production serve any https origin, a name containing localhost included', () => {
      for (const url of ['https://id.example.com', 'https://localhost.example.com', 'https://localhost']) {
        expect(loadConfig({ ...PRODUCTION, PUBLIC_URL: url }).publicUrl).to.equal(url);
      }
    });

    it('reports an unknown NODE_ENV once, not again as development on a public URL', () => {
      oneProblemNaming({ NODE_ENV: 'prod', PUBLIC_URL: 'https://id.example.com' }, 'NODE_ENV');
    });

    it('reports a public development URL together with the other problems', () => {
      const problems = problemsOf({ PUBLIC_URL: 'https://id.example.com', PORT: 'x', ADMIN_TOKEN: 'short' });
      expect(problems).to.have.length(3);
      for (const name of ['PUBLIC_URL', 'PORT', 'ADMIN_TOKEN']) expect(problems.some((p) => p.startsWith(name)), name).to.equal(true);
    });
  });

  describe('weak secrets, refused in every mode', () => {
    const MODES: Record<string, Record<string, string>> = { production: PRODUCTION, development: {} };

    const WEAK_TEXT: [string, string][] = [
      ['one character repeated', 'a'.repeat(32)],
      ['one character repeated 200 times', 'x'.repeat(200)],
      ['one character and one other', `${'x'.repeat(31)}y`],
      ['two characters alternating', 'ab'.repeat(16)],
      ['a word repeated', 'changeme'.repeat(4)],
      ['a word with digits repeated', 'Password123'.repeat(3)],
      ['16 characters repeated', '0123456789abcdef'.repeat(2)],
      ['a block repeated, the last copy cut short', `${'secret-'.repeat(5)}sec`],
      ['32 characters of five kinds', 'abcdeedcbaabcdeeddccbbaaeabcdbea'],
      ['a word padded', `MySecret${'!'.repeat(40)}`],
      ['32 zero bytes in base64', Buffer.alloc(32).toString('base64')],
    ];
    for (const [label, weak] of WEAK_TEXT) {
      for (const [mode, env] of Object.entries(MODES)) {
        it(`refuses ${label} as ADMIN_TOKEN or a COOKIE_SECRETS key (${mode}), without repeating it`, () => {
          const admin = oneProblemNaming({ ...env, ADMIN_TOKEN: weak }, 'ADMIN_TOKEN');
          expect(admin).to.include('random');
          const cookie = oneProblemNaming({ ...env, COOKIE_SECRETS: `${COOKIE_SECRET},${weak}` }, 'COOKIE_SECRETS');
          for (const problem of [admin, cookie]) expect(problem).not.to.include(weak.slice(0, 16));
        });
      }
    }

    const WEAK_KEYS: [string, string][] = [
      ['64 zeros', '0'.repeat(64)],
      ['32 zero bytes in base64', Buffer.alloc(32).toString('base64')],
      ['one byte repeated, in base64url', Buffer.alloc(32, 0xfb).toString('base64url')],
      ['a 16-byte block twice', '00112233445566778899aabbccddeeff'.repeat(2)],
      ['a 4-byte block repeated, in upper-case hex', 'DEADBEEF'.repeat(8)],
      ['15 distinct byte values', '000102030405060708090a0b0c0d0e0e0d0c0b0a090807060504030201000e0d'],
    ];
    for (const [label, weak] of WEAK_KEYS) {
      for (const [mode, env] of Object.entries(MODES)) {
        it(`refuses ${label} as KEY_ENCRYPTION_KEY (${mode}), without repeating it`, () => {
          const problem = oneProblemNaming({ ...env, KEY_ENCRYPTION_KEY: weak }, 'KEY_ENCRYPTION_KEY');
          expect(problem).to.include('random');
          expect(problem.toLowerCase()).not.to.include(weak.slice(0, 16).toLowerCase());
        });
      }
    }

    it('accepts random secrets of every usual shape, whatever characters they happen to draw', () => {
      const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
      const alnum = (n: number) => Array.from({ length: n }, () => ALNUM[randomInt(ALNUM.length)]).join('');
      // Refused with a probability near 2e-9 each (parsers.ts); 300 rounds cannot flake.
      for (let round = 0; round < 300; round++) {
        const texts = [
          randomBytes(16).toString('hex'), // 32 hex characters: the shortest and poorest allowed
          randomBytes(32).toString('hex'),
          randomBytes(32).toString('base64'),
          randomBytes(24).toString('base64url'),
          randomUUID(),
          alnum(32),
        ];
        for (const text of texts) expect(loadConfig({ ADMIN_TOKEN: text, COOKIE_SECRETS: `${text}-cookie` }).adminToken).to.equal(text);
        const key = randomBytes(32);
        for (const spelling of [key.toString('hex'), key.toString('base64'), key.toString('base64url')]) {
          expect(loadConfig({ KEY_ENCRYPTION_KEY: spelling }).keyEncryptionKey.equals(key)).to.equal(true);
        }
      }
    });
  });

  describe('one secret in two settings, refused in every mode', () => {
    const key = Buffer.from(KEK_HEX, 'hex');

    /** The one problem for `env`: it names each of `labels` and repeats no secret. */
    function reuseOf(env: Record<string, string>, labels: string[]): string {
      const problems = problemsOf(env);
      expect(problems, JSON.stringify(problems)).to.have.length(1);
      for (const label of labels) expect(problems[0]).to.include(label);
      expect(problems[0]).to.include('same secret');
      for (const value of Object.values(env).filter((v) => v !== env.NODE_ENV && v !== env.PUBLIC_URL)) {
        for (const part of value.split(',')) expect(problems[0]).not.to.include(part.trim().slice(0, 12));
      }
      return problems[0]!;
    }

    it('refuses COOKIE_SECRETS equal to ADMIN_TOKEN, in production and in development', () => {
      reuseOf({ ...PRODUCTION, COOKIE_SECRETS: ADMIN_TOKEN }, ['ADMIN_TOKEN', 'COOKIE_SECRETS']);
      reuseOf({ ADMIN_TOKEN, COOKIE_SECRETS: ADMIN_TOKEN }, ['ADMIN_TOKEN', 'COOKIE_SECRETS']);
    });

    it('sees through surrounding whitespace and names which cookie key', () => {
      reuseOf({ ...PRODUCTION, ADMIN_TOKEN: ` ${ADMIN_TOKEN}\t`, COOKIE_SECRETS: `${COOKIE_SECRET} ,  ${ADMIN_TOKEN} ` }, ['ADMIN_TOKEN', 'COOKIE_SECRETS (key 2)']);
    });

    it('sees the key in any spelling: hex, upper-case hex, base64, base64url', () => {
      for (const spelling of [KEK_HEX, KEK_HEX.toUpperCase(), key.toString('base64'), key.toString('base64url')]) {
        reuseOf({ ...PRODUCTION, ADMIN_TOKEN: spelling }, ['ADMIN_TOKEN', 'KEY_ENCRYPTION_KEY']);
        reuseOf({ ...PRODUCTION, COOKIE_SECRETS: `${COOKIE_SECRET},${spelling}` }, ['COOKIE_SECRETS (key 2)', 'KEY_ENCRYPTION_KEY']);
      }
      reuseOf({ ...PRODUCTION, ADMIN_TOKEN: KEK_HEX, KEY_ENCRYPTION_KEY: key.toString('base64url') }, ['ADMIN_TOKEN', 'KEY_ENCRYPTION_KEY']);
    });

    it('sees one secret in two encodings across the text settings, and a key that is a token\'s text', () => {
      const bytes = randomBytes(32);
      reuseOf({ ...PRODUCTION, ADMIN_TOKEN: bytes.toString('base64'), COOKIE_SECRETS: bytes.toString('hex') }, ['ADMIN_TOKEN', 'COOKIE_SECRETS']);
      const token = '4shYY5rz23yTKHUoYcFdsvfbueFuYFey'; // 32 characters: the key's 32 bytes
      reuseOf({ ...PRODUCTION, ADMIN_TOKEN: token, KEY_ENCRYPTION_KEY: Buffer.from(token).toString('base64') }, ['ADMIN_TOKEN', 'KEY_ENCRYPTION_KEY']);
    });

    it('refuses METRICS_TOKEN equal to ADMIN_TOKEN (a scraper would hold the admin API), and accepts its own token', () => {
      reuseOf({ ...PRODUCTION, METRICS_TOKEN: ADMIN_TOKEN }, ['ADMIN_TOKEN', 'METRICS_TOKEN']);
      reuseOf({ METRICS_TOKEN: KEK_HEX, KEY_ENCRYPTION_KEY: KEK_HEX }, ['KEY_ENCRYPTION_KEY', 'METRICS_TOKEN']);
      const own = randomBytes(24).toString('base64url');
      expect(loadConfig({ ...PRODUCTION, METRICS_TOKEN: own }).metricsToken).to.equal(own);
      expect(loadConfig(PRODUCTION).metricsToken).to.equal(undefined);
    });

    it('reports three settings holding one secret as one problem naming all three', () => {
      const problem = reuseOf({ ...PRODUCTION, ADMIN_TOKEN: KEK_HEX, COOKIE_SECRETS: key.toString('base64') }, ['ADMIN_TOKEN', 'COOKIE_SECRETS', 'KEY_ENCRYPTION_KEY']);
      expect(problem).to.match(/^ADMIN_TOKEN, COOKIE_SECRETS and KEY_ENCRYPTION_KEY hold/);
    });

    it('accepts the same key twice in COOKIE_SECRETS (redundant, not shared with another setting)', () => {
      expect(loadConfig({ ...PRODUCTION, COOKIE_SECRETS: `${COOKIE_SECRET},${COOKIE_SECRET}` }).cookieSecrets).to.have.length(2);
    });

    it('reports a secret that is rejected anyway once, not again as shared', () => {
      const problems = problemsOf({ ...PRODUCTION, ADMIN_TOKEN: 'short', COOKIE_SECRETS: 'short' });
      expect(problems).to.have.length(2);
      expect(problems.join('\n')).not.to.include('same secret');
    });
  });

  describe('other settings', () => {
    it('accepts every LOG_LEVEL and rejects others naming LOG_LEVEL', () => {
      for (const level of ['debug', 'info', 'warn', 'error', 'silent']) {
        expect(loadConfig({ LOG_LEVEL: level }).logLevel).to.equal(level);
      }
      oneProblemNaming({ LOG_LEVEL: 'verbose' }, 'LOG_LEVEL');
      oneProblemNaming({ LOG_LEVEL: 'INFO' }, 'LOG_LEVEL');
    });

    it('logs pretty in development and JSON elsewhere unless LOG_FORMAT says otherwise, and rejects other formats naming LOG_FORMAT', () => {
      expect(loadConfig({}).logFormat).to.equal('pretty');
      expect(loadConfig({ NODE_ENV: 'development' }).logFormat).to.equal('pretty');
      expect(loadConfig({ NODE_ENV: 'test' }).logFormat).to.equal('json');
      expect(loadConfig(PRODUCTION).logFormat).to.equal('json');
      expect(loadConfig({ ...PRODUCTION, LOG_FORMAT: 'pretty' }).logFormat).to.equal('pretty');
      expect(loadConfig({ LOG_FORMAT: 'json' }).logFormat).to.equal('json');
      for (const value of ['JSON', 'Pretty', 'text', 'json,pretty']) oneProblemNaming({ LOG_FORMAT: value }, 'LOG_FORMAT');
    });

    it('accepts TRUST_PROXY true/false and rejects others naming TRUST_PROXY', () => {
      expect(loadConfig({ TRUST_PROXY: 'true' }).trustProxy).to.equal(true);
      expect(loadConfig({ TRUST_PROXY: 'false' }).trustProxy).to.equal(false);
      for (const value of ['yes', '1', 'TRUE', 'on']) oneProblemNaming({ TRUST_PROXY: value }, 'TRUST_PROXY');
    });

    it('rejects an unknown NODE_ENV naming NODE_ENV', () => {
      oneProblemNaming({ NODE_ENV: 'staging' }, 'NODE_ENV');
    });

    it('accepts smtp:// and smtps:// SMTP_URLs and rejects others naming SMTP_URL', () => {
      expect(loadConfig({ SMTP_URL: 'smtps://u:p@mail.example.com:465' }).smtpUrl).to.equal('smtps://u:p@mail.example.com:465');
      oneProblemNaming({ SMTP_URL: 'http://mail.example.com' }, 'SMTP_URL');
      oneProblemNaming({ SMTP_URL: 'mail.example.com:25' }, 'SMTP_URL');
    });

    it('accepts MAIL_FROM as an address or "Name <address>", and rejects header injection naming MAIL_FROM', () => {
      expect(loadConfig({ MAIL_FROM: 'Acme <login@acme.example>' }).mailFrom).to.equal('Acme <login@acme.example>');
      expect(loadConfig({ MAIL_FROM: 'login@acme.example' }).mailFrom).to.equal('login@acme.example');
      oneProblemNaming({ MAIL_FROM: 'Acme <login@acme.example>\r\nBcc: eve@example.com' }, 'MAIL_FROM');
      oneProblemNaming({ MAIL_FROM: 'not an address' }, 'MAIL_FROM');
    });
  });

  describe('declarations', () => {
    it('declares each setting once, and every Config field comes from one declaration, in order', () => {
      const names = SETTINGS.map((s) => s.name);
      expect(new Set(names).size).to.equal(names.length);
      const fields = Object.keys(loadConfig({})).filter((field) => field !== 'generated');
      expect(fields).to.deep.equal(SETTINGS.map((s) => s.key));
    });

    it('reads exactly the declared settings from the environment', () => {
      const read = new Set<string>();
      const env = new Proxy({}, { get: (_, name) => void read.add(String(name)) });
      loadConfig(env);
      expect([...read]).to.deep.equal(SETTINGS.flatMap((s) => [s.name, `${s.name}_FILE`]));
    });

    it('says in a problem what the declaration allows, as plain text', () => {
      expect(problemsOf({ PORT: 'abc' })).to.deep.equal(['PORT must be a whole number from 1 to 65535 (got "abc")']);
      expect(problemsOf({ LOG_LEVEL: 'loud' })).to.deep.equal([
        'LOG_LEVEL must be one of debug, info, warn, error, silent (got "loud")',
      ]);
    });

    it('never repeats the value of a setting that may hold credentials', () => {
      const env = {
        ADMIN_TOKEN: 'hunter1',
        COOKIE_SECRETS: 'hunter2',
        KEY_ENCRYPTION_KEY: 'hunter3',
        SMTP_URL: 'http://u:hunter4@mail.example.com',
        REDIS_URL: 'http://u:hunter5@redis.example.com',
        MONGODB_URI: 'mongodb://u:hunter6@mongo.example.com',
      };
      const problems = problemsOf(env);
      expect(problems).to.have.length(6);
      expect(problems.join('\n')).not.to.include('hunter');
    });
  });

  describe('documentation', () => {
    it('docs/configuration.md holds exactly the table rendered from the declarations', () => {
      const doc = readFileSync(CONFIGURATION_DOC, 'utf8');
      expect(doc, 'docs/configuration.md is stale: run npm run docs:settings').to.equal(withSettingsTable(doc));
    });

    it('renders one row per setting, in declaration order', () => {
      const rows = settingsTable().split('\n').slice(2);
      expect(rows.map((row) => /^\| `([A-Z0-9_]+)` \|/.exec(row)?.[1])).to.deep.equal(SETTINGS.map((s) => s.name));
    });

    it('keeps README.md free of copies of the table', () => {
      const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
      expect(readme).to.include('docs/configuration.md');
      for (const { name } of SETTINGS) expect(readme, name).not.to.match(new RegExp(`^\\|\\s*\`${name}\``, 'm'));
    });
  });
});

describe('loadConfig: KEY_ROTATION_DAYS', () => {
  it('defaults to 0 (manual rotation only), in development and in production', () => {
    expect(loadConfig({}).keyRotationDays).to.equal(0);
    expect(loadConfig(PRODUCTION).keyRotationDays).to.equal(0);
  });

  it('accepts whole days from 1 to 3650, and 0 to turn scheduled rotation off', () => {
    for (const [raw, days] of [['1', 1], ['30', 30], ['90', 90], [' 365 ', 365], ['3650', 3650], ['0', 0]] as const) {
      expect(loadConfig({ ...PRODUCTION, KEY_ROTATION_DAYS: raw }).keyRotationDays, raw).to.equal(days);
    }
  });

  it('treats an empty value as unset', () => {
    expect(loadConfig({ KEY_ROTATION_DAYS: '  ' }).keyRotationDays).to.equal(0);
  });

  for (const raw of ['-1', '1.5', '3651', '30d', 'ninety', '1e3', '0x10', '+7']) {
    it(`rejects KEY_ROTATION_DAYS=${JSON.stringify(raw)} naming KEY_ROTATION_DAYS`, () => {
      const problem = oneProblemNaming({ ...PRODUCTION, KEY_ROTATION_DAYS: raw }, 'KEY_ROTATION_DAYS');
      expect(problem).to.include(raw);
    });
  }

  it('reports a bad KEY_ROTATION_DAYS together with the other problems', () => {
    const problems = problemsOf({ ...PRODUCTION, KEY_ROTATION_DAYS: 'soon', LOG_LEVEL: 'loud' });
    expect(problems.some((p) => p.includes('KEY_ROTATION_DAYS'))).to.equal(true);
    expect(problems.some((p) => p.includes('LOG_LEVEL'))).to.equal(true);
  });
});

describe('loadConfig: settings from files (NAME_FILE)', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'postern-config-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, contents: string | Buffer) => {
    const path = join(dir, name);
    writeFileSync(path, contents);
    return path;
  };

  it('reads every secret of a production environment from files, as Docker secrets mount them (trailing newline trimmed)', () => {
    const env: Record<string, string> = { NODE_ENV: 'production', PUBLIC_URL: PRODUCTION.PUBLIC_URL! };
    for (const name of ['ADMIN_TOKEN', 'COOKIE_SECRETS', 'KEY_ENCRYPTION_KEY', 'SMTP_URL', 'REDIS_URL']) {
      env[`${name}_FILE`] = file(name.toLowerCase(), `${PRODUCTION[name]}\n`);
    }
    const config = loadConfig(env);
    expect(config.adminToken).to.equal(ADMIN_TOKEN);
    expect(config.cookieSecrets).to.deep.equal([COOKIE_SECRET]);
    expect(config.keyEncryptionKey.toString('hex')).to.equal(KEK_HEX);
    expect(config.smtpUrl).to.equal(PRODUCTION.SMTP_URL);
    expect(config.redisUrl).to.equal(PRODUCTION.REDIS_URL);
    expect(config.generated).to.deep.equal([]);
  });

  it('also reads settings that are not secrets (one rule for all), with CRLF line ends trimmed', () => {
    expect(loadConfig({ PORT_FILE: file('port', '8080\r\n') }).port).to.equal(8080);
  });

  it('refuses NAME and NAME_FILE both set, naming both and not the value', () => {
    const problem = oneProblemNaming({ ...PRODUCTION, ADMIN_TOKEN_FILE: file('token-both', ADMIN_TOKEN) }, 'ADMIN_TOKEN_FILE');
    expect(problem).to.include('ADMIN_TOKEN and ADMIN_TOKEN_FILE are both set');
    expect(problem).not.to.include(ADMIN_TOKEN);
  });

  it('refuses a missing file, a directory and an unreadable file with a ConfigError naming the setting and path', function () {
    const missing = join(dir, 'nope');
    expect(oneProblemNaming({ ...PRODUCTION, ADMIN_TOKEN: undefined, ADMIN_TOKEN_FILE: missing }, 'ADMIN_TOKEN_FILE')).to.include(missing).and.include('ENOENT');
    expect(oneProblemNaming({ ...PRODUCTION, ADMIN_TOKEN: undefined, ADMIN_TOKEN_FILE: dir }, 'ADMIN_TOKEN_FILE')).to.include('EISDIR');
    if (process.getuid?.() === 0) return; // root reads files whatever their mode
    const locked = file('locked', ADMIN_TOKEN);
    chmodSync(locked, 0o000);
    expect(oneProblemNaming({ ...PRODUCTION, ADMIN_TOKEN: undefined, ADMIN_TOKEN_FILE: locked }, 'ADMIN_TOKEN_FILE')).to.include('EACCES');
  });

  it('refuses an empty (or whitespace-only) file instead of treating the secret as unset', () => {
    expect(oneProblemNaming({ ...PRODUCTION, ADMIN_TOKEN: undefined, ADMIN_TOKEN_FILE: file('empty', ' \n') }, 'ADMIN_TOKEN_FILE')).to.include('empty');
  });

  it('refuses a file larger than 64 KiB without reading it all (a mistake like /dev/zero cannot hang start-up)', () => {
    expect(oneProblemNaming({ ...PRODUCTION, ADMIN_TOKEN: undefined, ADMIN_TOKEN_FILE: file('huge', Buffer.alloc(65 * 1024, 97)) }, 'ADMIN_TOKEN_FILE')).to.include('64');
    expect(oneProblemNaming({ ...PRODUCTION, ADMIN_TOKEN: undefined, ADMIN_TOKEN_FILE: '/dev/zero' }, 'ADMIN_TOKEN_FILE')).to.include('/dev/zero');
  });

  it("checks a file's contents as the variable's: a weak secret in a file is refused without repeating it", () => {
    const problem = oneProblemNaming({ ...PRODUCTION, ADMIN_TOKEN: undefined, ADMIN_TOKEN_FILE: file('weak', 'a'.repeat(40)) }, 'ADMIN_TOKEN');
    expect(problem).not.to.include('aaaa');
  });

  it('sees one secret given once as a variable and once in a file', () => {
    const problems = problemsOf({ ...PRODUCTION, COOKIE_SECRETS: undefined, COOKIE_SECRETS_FILE: file('reused', `${ADMIN_TOKEN}\n`) });
    expect(problems.join('\n')).to.include('ADMIN_TOKEN').and.include('COOKIE_SECRETS');
  });
});

describe('loadConfig: DKIM', () => {
  const rsa = (bits: number) => generateKeyPairSync('rsa', { modulusLength: bits }).privateKey;
  const pem = rsa(2048).export({ type: 'pkcs1', format: 'pem' }) as string;
  const DKIM = { DKIM_DOMAIN: 'Example.COM', DKIM_SELECTOR: 'postern', DKIM_PRIVATE_KEY: pem };

  it('is off by default', () => {
    const config = loadConfig({});
    expect([config.dkimDomain, config.dkimSelector, config.dkimPrivateKey]).to.deep.equal([undefined, undefined, undefined]);
  });

  it('takes a domain (lowercased), a selector and an RSA key in PEM, also with \\n escapes from a one-line variable', () => {
    for (const key of [pem, pem.replaceAll('\n', '\\n')]) {
      const config = loadConfig({ ...DKIM, DKIM_PRIVATE_KEY: key });
      expect(config.dkimDomain).to.equal('example.com');
      expect(config.dkimSelector).to.equal('postern');
      expect(config.dkimPrivateKey).to.match(/^-----BEGIN PRIVATE KEY-----\n/);
    }
  });

  const badKeys: [string, string][] = [
    ['text that is no key', 'not a key'],
    ['a truncated PEM', pem.slice(0, 200)],
    ['an EC key (DKIM signs with RSA here)', generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string],
    ['a 512-bit RSA key', rsa(512).export({ type: 'pkcs8', format: 'pem' }) as string],
    ['a public key', generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'pem' }) as string],
    ['an encrypted key', rsa(1024).export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pass' }) as string],
  ];
  for (const [label, key] of badKeys) {
    it(`refuses ${label} at start-up, naming DKIM_PRIVATE_KEY and never echoing it`, () => {
      const problem = oneProblemNaming({ ...DKIM, DKIM_PRIVATE_KEY: key }, 'DKIM_PRIVATE_KEY');
      expect(problem).not.to.include('BEGIN');
    });
  }

  it('refuses a malformed domain or selector, naming it', () => {
    for (const domain of ['example', 'exa mple.com', '-x.example.com', 'example.com.', 'ex_ample.com']) oneProblemNaming({ ...DKIM, DKIM_DOMAIN: domain }, 'DKIM_DOMAIN');
    for (const selector of ['a b', 'sel;x=1', '.postern', 'x'.repeat(64)]) oneProblemNaming({ ...DKIM, DKIM_SELECTOR: selector }, 'DKIM_SELECTOR');
  });

  it('refuses half a setup, naming what is missing', () => {
    expect(oneProblemNaming({ DKIM_DOMAIN: 'example.com' }, 'DKIM_SELECTOR')).to.include('DKIM_PRIVATE_KEY');
    expect(oneProblemNaming({ DKIM_DOMAIN: 'example.com', DKIM_SELECTOR: 's1' }, 'DKIM_PRIVATE_KEY'));
  });

  it('reads the key from DKIM_PRIVATE_KEY_FILE', () => {
    const dir = mkdtempSync(join(tmpdir(), 'postern-dkim-'));
    try {
      writeFileSync(join(dir, 'dkim.pem'), pem);
      const config = loadConfig({ ...DKIM, DKIM_PRIVATE_KEY: undefined, DKIM_PRIVATE_KEY_FILE: join(dir, 'dkim.pem') });
      expect(config.dkimPrivateKey).to.match(/PRIVATE KEY/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('loadConfig: Redis over TLS', () => {
  let files: TlsFiles;
  before(() => {
    files = makeTlsFiles();
  });
  after(() => files.remove());
  const REDISS = 'rediss://:redis-password@redis.internal:6380';

  it('is off by default', () => {
    const config = loadConfig({ REDIS_URL: REDISS });
    expect([config.redisTlsCa, config.redisTlsCert, config.redisTlsKey]).to.deep.equal([undefined, undefined, undefined]);
  });

  it('takes a CA, a client certificate and its key with a rediss:// URL, as text, with \\n escapes or from files', () => {
    const given = [
      { REDIS_TLS_CA: files.ca.text, REDIS_TLS_CERT: files.clientCert.text, REDIS_TLS_KEY: files.clientKey.text },
      { REDIS_TLS_CA: files.ca.text.replaceAll('\n', '\\n'), REDIS_TLS_CERT: files.clientCert.text.replaceAll('\n', '\\n'), REDIS_TLS_KEY: files.clientKey.text.replaceAll('\n', '\\n') },
      { REDIS_TLS_CA_FILE: files.ca.path, REDIS_TLS_CERT_FILE: files.clientCert.path, REDIS_TLS_KEY_FILE: files.clientKey.path },
    ];
    for (const env of given) {
      const config = loadConfig({ REDIS_URL: REDISS, ...env });
      expect(config.redisTlsCa).to.equal(files.ca.text);
      expect(config.redisTlsCert).to.equal(files.clientCert.text);
      expect(config.redisTlsKey).to.match(/^-----BEGIN PRIVATE KEY-----\n/);
    }
    // A scheme in another case is still rediss.
    expect(loadConfig({ REDIS_URL: REDISS.replace('rediss', 'REDISS'), REDIS_TLS_CA: files.ca.text }).redisTlsCa).to.equal(files.ca.text);
  });

  it('takes a bundle of several CA certificates', () => {
    const config = loadConfig({ REDIS_URL: REDISS, REDIS_TLS_CA: `${files.ca.text}${files.otherCa.text}` });
    expect(config.redisTlsCa!.match(/BEGIN CERTIFICATE/g)).to.have.length(2);
  });

  it('refuses the TLS settings with a redis:// URL or none, naming them and never the URL', () => {
    const onPlain = oneProblemNaming({ REDIS_URL: 'redis://:redis-password@redis.internal:6379', REDIS_TLS_CA: files.ca.text }, 'REDIS_TLS_CA');
    expect(onPlain).to.include('rediss://').and.not.include('redis-password');
    oneProblemNaming({ REDIS_TLS_CERT: files.clientCert.text, REDIS_TLS_KEY: files.clientKey.text }, 'REDIS_TLS_CERT');
  });

  it('refuses a client certificate without its key, and a key without its certificate', () => {
    expect(oneProblemNaming({ REDIS_URL: REDISS, REDIS_TLS_CERT: files.clientCert.text }, 'REDIS_TLS_KEY')).to.include('only REDIS_TLS_CERT');
    expect(oneProblemNaming({ REDIS_URL: REDISS, REDIS_TLS_KEY: files.clientKey.text }, 'REDIS_TLS_CERT')).to.include('only REDIS_TLS_KEY');
  });

  it("refuses a key that is not the certificate's, never echoing it", () => {
    const problem = oneProblemNaming({ REDIS_URL: REDISS, REDIS_TLS_CERT: files.clientCert.text, REDIS_TLS_KEY: files.serverKey.text }, 'REDIS_TLS_KEY');
    expect(problem).not.to.include(files.serverKey.text.split('\n')[1]);
  });

  it('refuses what is not one or more certificates as REDIS_TLS_CA or REDIS_TLS_CERT', () => {
    const bad = [
      'not a certificate',
      files.ca.text.slice(0, 200),
      files.clientKey.text,
      `${files.clientCert.text}${files.clientKey.text}`,
      // A line of its DER left out: the lengths inside no longer add up.
      files.ca.text.replace(/\n[A-Za-z0-9+/]{64}\n/, '\n'),
    ];
    for (const value of bad) {
      oneProblemNaming({ REDIS_URL: REDISS, REDIS_TLS_CA: value }, 'REDIS_TLS_CA');
      oneProblemNaming({ REDIS_URL: REDISS, REDIS_TLS_CERT: value, REDIS_TLS_KEY: files.clientKey.text }, 'REDIS_TLS_CERT');
    }
  });

  it('refuses what is not an unencrypted private key as REDIS_TLS_KEY, never echoing it', () => {
    const encrypted = createPrivateKey(files.clientKey.text).export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pass' }) as string;
    for (const value of ['not a key', encrypted, files.clientCert.text]) {
      const problem = oneProblemNaming({ REDIS_URL: REDISS, REDIS_TLS_CERT: files.clientCert.text, REDIS_TLS_KEY: value }, 'REDIS_TLS_KEY');
      // The first line of key material (the whole value when it is one line).
      expect(problem).not.to.include(value.split('\n')[value.includes('\n') ? 1 : 0]);
    }
  });
});
