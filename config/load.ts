// Reads the environment once at start-up, validates every setting declared in settings.ts,
// and returns a frozen Config. Problems are collected and reported together, each naming its
// setting, so an operator fixes them in one go instead of one restart per mistake.
import { createPrivateKey, randomBytes, X509Certificate } from 'node:crypto';
import { isLoopbackOrigin } from '../src/ip-network.ts';
import { reusedSecrets, type SecretValue } from './secret-reuse.ts';
import { settingText } from './setting-text.ts';
import { SETTINGS, type DeclaredSetting, type SettingValues } from './settings.ts';

export type { Environment, LogLevel } from './settings.ts';

export interface Config extends SettingValues {
  /** Secrets that were generated because they were missing (development only). */
  readonly generated: readonly string[];
}

export class ConfigError extends Error {
  readonly problems: readonly string[];
  constructor(problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

type Env = Record<string, string | undefined>;

function defaultOf(setting: DeclaredSetting, earlier: SettingValues): unknown {
  const d = setting.default;
  // Generated text goes through the parser like a given value, so it is always well-formed
  // and passes the strength check. Random text fails that check with a probability near
  // 1e-11, so a second draw is all it takes; a parser that refuses three is misdeclared.
  if (d === 'generated') {
    for (let draw = 0; draw < 3; draw++) {
      const value = setting.parser.parse(randomBytes(32).toString('base64url'));
      if (value !== undefined) return value;
    }
    throw new Error(`${setting.name}: its parser refuses generated values`);
  }
  return 'derive' in d ? d.derive(earlier) : d.value;
}

export function loadConfig(env: Env = process.env): Config {
  const problems: string[] = [];
  const generated: string[] = [];
  const unset = new Set<string>();
  const rejected = new Set<string>();
  const values = {} as Record<keyof SettingValues, unknown>;

  for (const setting of SETTINGS) {
    const source = settingText(env, setting.name);
    const raw = source.text;
    const parsed = raw === undefined ? undefined : setting.parser.parse(raw);
    if (source.problem !== undefined) {
      // Reported as itself; not again as missing in production.
      rejected.add(setting.name);
      problems.push(source.problem);
    } else if (raw === undefined) {
      unset.add(setting.name);
      if (setting.default === 'generated') generated.push(setting.name);
    } else if (parsed === undefined) {
      rejected.add(setting.name);
      // Problems show the markdown phrase as plain text, and never echo a secret.
      const allowed = setting.parser.allowed.replaceAll('`', '');
      problems.push(`${setting.name} must be ${allowed}${setting.secret ? '' : ` (got "${raw}")`}`);
    }
    values[setting.key] = parsed ?? defaultOf(setting, values as SettingValues);
  }
  const config = values as SettingValues;

  // Each secret's strength is its parser's business; sharing one is checked across settings.
  const givenSecrets = SETTINGS.filter((s) => (s.default === 'generated' || s.distinct) && !unset.has(s.name) && !rejected.has(s.name));
  problems.push(...reusedSecrets(new Map(givenSecrets.map((s) => [s.name, values[s.key] as SecretValue]))));

  // Development (and test) mode generates secrets, keeps data in memory and, without SMTP,
  // shows every sign-in link at /dev/mailbox: only a PUBLIC_URL on this machine may have
  // it. A rejected NODE_ENV is already reported, and would only add a confusing second line.
  if (config.env !== 'production' && !rejected.has('NODE_ENV') && !isLoopbackOrigin(config.publicUrl)) {
    const mode = unset.has('NODE_ENV') ? 'NODE_ENV is unset, which means development' : `NODE_ENV=${config.env}`;
    problems.push(
      `PUBLIC_URL must be on this machine (localhost, *.localhost, 127.0.0.0/8 or [::1]) unless NODE_ENV=production (got "${config.publicUrl}" and ${mode}): development mode generates missing secrets, keeps data in memory and, without SMTP_URL, shows sign-in links at /dev/mailbox. Set NODE_ENV=production to serve other machines.`,
    );
  }

  // A signature without a domain, selector or key cannot be made; half a setup is a mistake.
  const dkim = ['DKIM_DOMAIN', 'DKIM_SELECTOR', 'DKIM_PRIVATE_KEY'];
  const dkimGiven = dkim.filter((name) => !unset.has(name));
  if (dkimGiven.length > 0 && dkimGiven.length < dkim.length) {
    problems.push(`${dkim.filter((name) => unset.has(name)).join(' and ')} must be set too: DKIM signing needs DKIM_DOMAIN, DKIM_SELECTOR and DKIM_PRIVATE_KEY together (got only ${dkimGiven.join(' and ')})`);
  }

  // A REDIS_URL that was refused is reported already; its TLS settings wait for a good one.
  if (!rejected.has('REDIS_URL')) problems.push(...redisTlsProblems(config, unset));

  if (config.env === 'production') {
    for (const { name } of SETTINGS.filter((s) => s.requiredInProduction && unset.has(s.name))) {
      problems.push(`${name} is required in production`);
    }
    // A rejected PUBLIC_URL is already reported; its localhost stand-in is not worth a second line.
    if (!rejected.has('PUBLIC_URL') && !config.publicUrl.startsWith('https://')) {
      problems.push(`PUBLIC_URL must use https in production (got "${config.publicUrl}")`);
    }
    if (config.redisUrl === undefined && config.mongodbUri === undefined) {
      problems.push('REDIS_URL or MONGODB_URI is required in production (in-memory data is lost on restart and cannot be shared)');
    }
  }
  if (problems.length) throw new ConfigError(problems);

  return Object.freeze({ ...config, generated: Object.freeze(generated) });
}

/**
 * The TLS settings belong to a rediss:// REDIS_URL (on a redis:// one they would be silently
 * unused, and the operator would believe the connection encrypted); a client certificate
 * comes with its key, and the key is the certificate's. REDIS_URL itself is a secret (it
 * may hold a password), so a problem names only its scheme.
 */
function redisTlsProblems(config: SettingValues, unset: ReadonlySet<string>): string[] {
  const given = ['REDIS_TLS_CA', 'REDIS_TLS_CERT', 'REDIS_TLS_KEY'].filter((name) => !unset.has(name));
  if (given.length === 0) return [];
  const scheme = config.redisUrl === undefined ? undefined : URL.parse(config.redisUrl)?.protocol;
  if (scheme !== 'rediss:') {
    return [`${given.join(', ')} ${given.length > 1 ? 'apply' : 'applies'} to a rediss:// REDIS_URL only (${scheme ? `REDIS_URL is ${scheme}//…` : 'REDIS_URL is unset'}): use rediss:// for TLS, or unset ${given.join(' and ')}`];
  }
  const { redisTlsCert: cert, redisTlsKey: key } = config;
  if (unset.has('REDIS_TLS_CERT') !== unset.has('REDIS_TLS_KEY')) {
    return [`REDIS_TLS_CERT and REDIS_TLS_KEY go together: the client certificate and its private key (got only ${unset.has('REDIS_TLS_KEY') ? 'REDIS_TLS_CERT' : 'REDIS_TLS_KEY'})`];
  }
  // Either rejected already (reported as such) or both parsed: then the key must be the certificate's.
  if (cert !== undefined && key !== undefined && !new X509Certificate(cert).checkPrivateKey(createPrivateKey(key))) {
    return ['REDIS_TLS_KEY is not the private key of the first certificate in REDIS_TLS_CERT'];
  }
  return [];
}
