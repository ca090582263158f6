// Reads the environment once at start-up, validates every setting declared in settings.ts,
// and returns a frozen Config. Problems are collected and reported together, each naming its
// setting, so an operator fixes them in one go instead of one restart per mistake.
import { randomBytes } from 'node:crypto';
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

/** A setting's text; empty and whitespace-only count as unset. */
function present(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value ? value : undefined;
}

function defaultOf(setting: DeclaredSetting, earlier: SettingValues): unknown {
  const d = setting.default;
  // Generated text goes through the parser like a given value, so it is always well-formed.
  if (d === 'generated') return setting.parser.parse(randomBytes(32).toString('base64url'));
  return 'derive' in d ? d.derive(earlier) : d.value;
}

export function loadConfig(env: Env = process.env): Config {
  const problems: string[] = [];
  const generated: string[] = [];
  const unset = new Set<string>();
  const rejected = new Set<string>();
  const values = {} as Record<keyof SettingValues, unknown>;

  for (const setting of SETTINGS) {
    const raw = present(env, setting.name);
    const parsed = raw === undefined ? undefined : setting.parser.parse(raw);
    if (raw === undefined) {
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
