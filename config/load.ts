// Reads the environment once at start-up, validates every setting, and returns a frozen
// Config. Problems are collected and reported together, each naming its setting, so an
// operator fixes them in one go instead of one restart per mistake.
import { randomBytes } from 'node:crypto';

export type Environment = 'development' | 'production' | 'test';
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

export interface Config {
  readonly env: Environment;
  readonly port: number;
  readonly publicUrl: string; // origin, no trailing slash
  readonly adminToken: string;
  readonly smtpUrl: string | undefined;
  readonly mailFrom: string;
  readonly cookieSecrets: readonly string[];
  readonly keyEncryptionKey: Buffer;
  readonly trustProxy: boolean;
  readonly redisUrl: string | undefined;
  readonly mongodbUri: string | undefined;
  readonly logLevel: LogLevel;
  /** Days after which an app's current signing keys are rotated; 0: manual rotation only. */
  readonly keyRotationDays: number;
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

const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error', 'silent'];
const MIN_SECRET_LENGTH = 32;
const MAX_KEY_ROTATION_DAYS = 3650;

function present(env: Env, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

function parseKey(raw: string): Buffer | undefined {
  if (/^[0-9a-fA-F]{64}$/.test(raw)) return Buffer.from(raw, 'hex');
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(raw)) {
    const key = Buffer.from(raw.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    return key.length === 32 ? key : undefined;
  }
  return undefined;
}

export function loadConfig(env: Env = process.env): Config {
  const problems: string[] = [];
  const generated: string[] = [];

  const nodeEnv = present(env, 'NODE_ENV') ?? 'development';
  if (!['development', 'production', 'test'].includes(nodeEnv)) {
    problems.push(`NODE_ENV must be development, production or test (got "${nodeEnv}")`);
  }
  const environment = nodeEnv as Environment;
  const production = environment === 'production';

  let port = 3000;
  const rawPort = present(env, 'PORT');
  if (rawPort !== undefined) {
    port = Number(rawPort);
    if (!/^\d+$/.test(rawPort) || port < 1 || port > 65535) {
      problems.push(`PORT must be an integer between 1 and 65535 (got "${rawPort}")`);
    }
  }

  let publicUrl = `http://localhost:${port}`;
  const rawPublicUrl = present(env, 'PUBLIC_URL');
  if (rawPublicUrl !== undefined) {
    const parsed = URL.parse(rawPublicUrl);
    if (!parsed || !['http:', 'https:'].includes(parsed.protocol)) {
      problems.push(`PUBLIC_URL must be an absolute http(s) URL (got "${rawPublicUrl}")`);
    } else if (parsed.pathname !== '/' || parsed.search || parsed.hash || parsed.username) {
      problems.push(`PUBLIC_URL must be an origin without path, query or credentials (got "${rawPublicUrl}")`);
    } else {
      publicUrl = parsed.origin;
    }
  }
  if (production && !publicUrl.startsWith('https://')) {
    problems.push(`PUBLIC_URL must use https in production (got "${publicUrl}")`);
  }

  function secret(name: string, make: () => string, check: (v: string) => string | undefined): string {
    const value = present(env, name);
    if (value !== undefined) {
      const problem = check(value);
      if (problem) problems.push(`${name} ${problem}`);
      return value;
    }
    if (production) {
      problems.push(`${name} is required in production`);
      return '';
    }
    generated.push(name);
    return make();
  }

  const longEnough = (v: string) =>
    v.length < MIN_SECRET_LENGTH ? `must be at least ${MIN_SECRET_LENGTH} characters` : undefined;

  const adminToken = secret('ADMIN_TOKEN', () => randomBytes(32).toString('base64url'), longEnough);

  const rawCookieSecrets = secret('COOKIE_SECRETS', () => randomBytes(32).toString('base64url'), (v) => {
    const parts = v.split(',').map((s) => s.trim());
    return parts.some((p) => p.length < MIN_SECRET_LENGTH)
      ? `must be a comma-separated list of keys of at least ${MIN_SECRET_LENGTH} characters each`
      : undefined;
  });
  const cookieSecrets = rawCookieSecrets.split(',').map((s) => s.trim()).filter(Boolean);

  const rawKek = secret('KEY_ENCRYPTION_KEY', () => randomBytes(32).toString('hex'), (v) =>
    parseKey(v) ? undefined : 'must be 32 bytes as 64 hex characters or base64/base64url',
  );
  const keyEncryptionKey = parseKey(rawKek) ?? Buffer.alloc(32);

  const smtpUrl = present(env, 'SMTP_URL');
  if (smtpUrl !== undefined) {
    const parsed = URL.parse(smtpUrl);
    if (!parsed || !['smtp:', 'smtps:'].includes(parsed.protocol)) {
      problems.push('SMTP_URL must be an smtp:// or smtps:// URL');
    }
  } else if (production) {
    problems.push('SMTP_URL is required in production (the development mailbox does not exist there)');
  }

  const host = URL.parse(publicUrl)?.hostname ?? 'localhost';
  const mailFrom = present(env, 'MAIL_FROM') ?? `Postern <no-reply@${host}>`;
  if (/[\r\n]/.test(mailFrom) || !/^(?:[^<>@]*<[^<>@\s]+@[^<>@\s]+>|[^<>@\s]+@[^<>@\s]+)$/.test(mailFrom)) {
    problems.push(`MAIL_FROM must be an address like "Name <user@example.com>" (got "${mailFrom}")`);
  }

  const redisUrl = present(env, 'REDIS_URL');
  if (redisUrl !== undefined && !['redis:', 'rediss:'].includes(URL.parse(redisUrl)?.protocol ?? '')) {
    problems.push('REDIS_URL must be a redis:// or rediss:// URL');
  }
  const mongodbUri = present(env, 'MONGODB_URI');
  if (mongodbUri !== undefined) {
    const parsed = URL.parse(mongodbUri);
    if (!parsed || !['mongodb:', 'mongodb+srv:'].includes(parsed.protocol)) {
      problems.push('MONGODB_URI must be a mongodb:// or mongodb+srv:// URI');
    } else if (parsed.pathname.replace(/^\//, '') === '') {
      problems.push('MONGODB_URI must name a database, e.g. mongodb://mongo:27017/postern');
    }
  }
  if (production && redisUrl === undefined && mongodbUri === undefined) {
    problems.push('REDIS_URL or MONGODB_URI is required in production (in-memory data is lost on restart and cannot be shared)');
  }

  const rawTrust = present(env, 'TRUST_PROXY') ?? 'false';
  if (!['true', 'false'].includes(rawTrust)) {
    problems.push(`TRUST_PROXY must be true or false (got "${rawTrust}")`);
  }

  const logLevel = (present(env, 'LOG_LEVEL') ?? 'info') as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) {
    problems.push(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')} (got "${logLevel}")`);
  }

  let keyRotationDays = 0;
  const rawRotation = present(env, 'KEY_ROTATION_DAYS');
  if (rawRotation !== undefined) {
    keyRotationDays = Number(rawRotation);
    if (!/^\d+$/.test(rawRotation) || keyRotationDays > MAX_KEY_ROTATION_DAYS) {
      problems.push(
        `KEY_ROTATION_DAYS must be a whole number of days between 1 and ${MAX_KEY_ROTATION_DAYS}, or 0 for manual rotation only (got "${rawRotation}")`,
      );
    }
  }

  if (problems.length) throw new ConfigError(problems);

  return Object.freeze({
    env: environment,
    port,
    publicUrl,
    adminToken,
    smtpUrl,
    mailFrom,
    cookieSecrets: Object.freeze(cookieSecrets),
    keyEncryptionKey,
    trustProxy: rawTrust === 'true',
    redisUrl,
    mongodbUri,
    logLevel,
    keyRotationDays,
    generated: Object.freeze(generated),
  });
}
