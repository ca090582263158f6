// The one place every setting is declared: name, default, meaning. The README's
// configuration table mirrors this list; `test/unit/config.test.ts` keeps them in step.

export interface SettingDoc {
  readonly name: string;
  readonly default: string;
  readonly meaning: string;
}

export const SETTINGS: readonly SettingDoc[] = [
  { name: 'PORT', default: '3000', meaning: 'TCP port the HTTP server listens on (1-65535).' },
  {
    name: 'PUBLIC_URL',
    default: 'http://localhost:$PORT',
    meaning:
      'Origin users and apps reach Postern at (no path). Issuers, links and redirects are built from it only; must be https in production.',
  },
  {
    name: 'ADMIN_TOKEN',
    default: 'generated in development',
    meaning: 'Bearer token for the admin API (at least 32 characters). Required in production.',
  },
  {
    name: 'SMTP_URL',
    default: 'none: development mailbox',
    meaning:
      'SMTP server for sign-in mail, e.g. smtp://user:pass@127.0.0.1:2525 or smtps://…. Without it (development only) mail goes to the log and /dev/mailbox. Required in production.',
  },
  {
    name: 'MAIL_FROM',
    default: 'Postern <no-reply@HOST of PUBLIC_URL>',
    meaning: 'Sender of sign-in mail: an address, optionally with a display name.',
  },
  {
    name: 'COOKIE_SECRETS',
    default: 'generated in development',
    meaning:
      'Comma-separated keys (each at least 32 characters) that sign cookies and CSRF tokens; the first signs, all verify, so prepend to rotate. Required in production.',
  },
  {
    name: 'KEY_ENCRYPTION_KEY',
    default: 'generated in development',
    meaning:
      '32 random bytes as 64 hex characters or base64/base64url; encrypts signing keys and client secrets at rest (AES-256-GCM). Required in production.',
  },
  {
    name: 'REDIS_URL',
    default: 'none',
    meaning:
      'redis:// or rediss:// URL. Alone, all data lives in Redis (run it with AOF persistence); with MONGODB_URI, Redis keeps the short-lived data (sessions, codes, access tokens, magic links) and carries cache invalidation between instances.',
  },
  {
    name: 'MONGODB_URI',
    default: 'none',
    meaning:
      'mongodb:// or mongodb+srv:// URI with a database name. Alone, all data lives in MongoDB; with REDIS_URL, MongoDB keeps the durable data (apps, keys, accounts, grants, refresh tokens, audit). Without either, data is in memory (development only).',
  },
  {
    name: 'NODE_ENV',
    default: 'development',
    meaning: '`production` turns every missing secret into a start-up error and hides development pages; `test` is development without the start-up banner.',
  },
  {
    name: 'TRUST_PROXY',
    default: 'false',
    meaning: '`true` when behind a reverse proxy: the client IP is then taken from X-Forwarded-For. Host and protocol always come from PUBLIC_URL.',
  },
  {
    name: 'LOG_LEVEL',
    default: 'info',
    meaning: 'One of debug, info, warn, error, silent. Logs are JSON lines on stdout.',
  },
  {
    name: 'KEY_ROTATION_DAYS',
    default: '0 (manual rotation only)',
    meaning:
      "Rotate each app's signing keys automatically once its current keys are this many days old (whole days, 1-3650); 0 turns scheduled rotation off. Manual rotation (POST /admin/apps/{app_id}/keys/rotate) and the removal of retired keys work either way.",
  },
];
