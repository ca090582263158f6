// Every setting, declared once: its environment variable, parser (and so what is allowed),
// default and meaning. loadConfig (load.ts) reads the environment through this list alone,
// and the table in docs/configuration.md is rendered from it (`npm run docs:settings`).
import { LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevel } from '../src/log.ts';
import { bearerToken, domainName, dnsLabels, key256, mailbox, pemCertificates, pemPrivateKey, rsaPrivateKey, oneOf, secretTextList, trueOrFalse, url, wholeNumber, type Parser } from './parsers.ts';

const ENVIRONMENTS = ['development', 'production', 'test'] as const;
export type Environment = (typeof ENVIRONMENTS)[number];
const ES512_SIGNERS = ['auto', 'native', 'node'] as const;
export type { LogFormat, LogLevel };

/** What the settings produce: one field per declaration below (the compiler keeps them in step). */
export interface SettingValues {
  readonly env: Environment;
  readonly port: number;
  readonly publicUrl: string; // origin, no trailing slash
  readonly adminToken: string;
  readonly cookieSecrets: readonly string[];
  readonly keyEncryptionKey: Buffer;
  readonly smtpUrl: string | undefined;
  readonly mailFrom: string;
  /** DKIM signing of sign-in mail: all three set, or none (load.ts). */
  readonly dkimDomain: string | undefined;
  readonly dkimSelector: string | undefined;
  /** PKCS#8 PEM. */
  readonly dkimPrivateKey: string | undefined;
  readonly redisUrl: string | undefined;
  /** TLS of a rediss:// REDIS_URL (load.ts): the CAs to trust instead of Node's built-in public ones, and a client certificate (both or neither). */
  readonly redisTlsCa: string | undefined;
  readonly redisTlsCert: string | undefined;
  /** PKCS#8 PEM. */
  readonly redisTlsKey: string | undefined;
  readonly mongodbUri: string | undefined;
  readonly trustProxy: boolean;
  readonly logLevel: LogLevel;
  readonly logFormat: LogFormat;
  /** Days after which an app's current signing keys are rotated; 0: manual rotation only. */
  readonly keyRotationDays: number;
  /** Days an audit event is kept. */
  readonly auditRetentionDays: number;
  /** Sign-in links one mailbox can be sent per hour, across all apps. */
  readonly maxLinksPerMailbox: number;
  /** Longest a SIGTERM waits for requests and mail in progress before the process exits. */
  readonly shutdownTimeoutSeconds: number;
  /** Milliseconds a store command may take before the request answers 503. */
  readonly storeTimeoutMs: number;
  /** Event-loop lag (ms) beyond which expensive routes answer 503; 0: never. */
  readonly maxEventLoopLagMs: number;
  /** Memory (MiB) the cache of apps' Providers and public documents may take. */
  readonly providerCacheMb: number;
  /** Bearer token for GET /metrics; unset: open outside production, off in production. */
  readonly metricsToken: string | undefined;
  /** How many apps get metric series of their own per process; the rest count as "other". */
  readonly metricsAppLabels: number;
  /** Who makes ES512 signatures: the native signer when it loads (auto), always (native), never (node). */
  readonly es512Signer: (typeof ES512_SIGNERS)[number];
}

/** The value of an unset (or empty) setting. */
export type Default<T> =
  | { readonly value: T } // undefined shows as "none"
  | { readonly derive: (earlier: SettingValues) => T; readonly shown: string } // from settings declared above it
  | 'generated'; // random, for this run only; production refuses it (see requiredInProduction). These are the secrets no two settings may share (load.ts).

export interface Setting<T> {
  readonly name: string;
  readonly parser: Parser<NonNullable<T>>;
  readonly default: Default<T>;
  readonly requiredInProduction?: boolean;
  /** May hold credentials, so a problem never repeats the value. */
  readonly secret?: boolean;
  /** A secret no other setting may hold (load.ts); settings whose default is 'generated' always are. */
  readonly distinct?: boolean;
  /** Markdown; what is allowed, the default and whether production requires it are shown beside it. */
  readonly description: string;
}

const MIN_SECRET_LENGTH = 32;

const DECLARED = {
  env: {
    name: 'NODE_ENV',
    parser: oneOf(ENVIRONMENTS),
    default: { value: 'development' },
    description:
      '`production` refuses to start while a required setting is missing and serves no development page (`/` and `/dev/…` are not found). `development` (also when unset) and `test` (development without the start-up banner) generate missing secrets, keep data in memory, serve a landing page at `/` (what is running, the apps, the admin API\'s routes) and a mailbox at `/dev/mailbox` (refused link requests and mail not sent and, without `SMTP_URL`, every sign-in mail), so they refuse to start unless `PUBLIC_URL` is on this machine: `localhost`, a `*.localhost` name, `127.0.0.0/8` or `[::1]`.',
  },
  port: { name: 'PORT', parser: wholeNumber(1, 65535), default: { value: 3000 }, description: 'TCP port the HTTP server listens on.' },
  publicUrl: {
    name: 'PUBLIC_URL',
    parser: url(['http:', 'https:'], {
      allowed: 'with no path, query or credentials',
      pick: (u) => (u.pathname === '/' && !u.search && !u.hash && !u.username && !u.password ? u.origin : undefined),
    }),
    default: { derive: (earlier) => `http://localhost:${earlier.port}`, shown: '`http://localhost:$PORT`' },
    description:
      'Origin users and apps reach Postern at. Issuers, links and redirects are built from it only, never from `Host` or `X-Forwarded-*`. Must be https in production, on this machine in any other mode (see `NODE_ENV`), and the same on every instance (it is the issuer prefix).',
  },
  adminToken: {
    name: 'ADMIN_TOKEN',
    parser: bearerToken(MIN_SECRET_LENGTH),
    default: 'generated',
    requiredInProduction: true,
    secret: true,
    description:
      'Bearer token for the admin API. The same on every instance. Its own secret: refused when a key of `COOKIE_SECRETS` or `KEY_ENCRYPTION_KEY` holds it too (compared as written and decoded from hex or base64).',
  },
  cookieSecrets: {
    name: 'COOKIE_SECRETS',
    parser: secretTextList(MIN_SECRET_LENGTH),
    default: 'generated',
    requiredInProduction: true,
    secret: true,
    description:
      'Keys that sign cookies and CSRF tokens: the first signs, all verify, so prepend a new key to rotate (a cookie signed under an older key stays valid as it is until it is set again; remove the older key once the sessions signed under it have expired, 14 days after the rotation). The same on every instance (a cookie set by one is read by another). Refused when a key is also `ADMIN_TOKEN` or `KEY_ENCRYPTION_KEY`, in any spelling.',
  },
  keyEncryptionKey: {
    name: 'KEY_ENCRYPTION_KEY',
    parser: key256,
    default: 'generated',
    requiredInProduction: true,
    secret: true,
    description:
      'Encrypts signing keys and client secrets at rest (AES-256-GCM). The same on every instance; losing it makes stored keys unreadable. Refused when `ADMIN_TOKEN` or a key of `COOKIE_SECRETS` is the same key, in hex, base64 or as text.',
  },
  smtpUrl: {
    name: 'SMTP_URL',
    parser: url(['smtp:', 'smtps:']),
    default: { value: undefined },
    requiredInProduction: true,
    secret: true,
    description:
      'SMTP server for sign-in mail, e.g. `smtp://user:pass@mail.example.com:587` (STARTTLS, required: a server that does not offer it gets neither the password nor any mail) or `smtps://user:pass@mail.example.com:465` (TLS from the start). Only a server on this machine (`localhost`, `127.0.0.1`, `[::1]`) is spoken to in the clear; for a relay on a trusted network that speaks no TLS, add `?requireTLS=false`. Without it (development only) mail goes to the log and `/dev/mailbox`.',
  },
  mailFrom: {
    name: 'MAIL_FROM',
    parser: mailbox,
    default: { derive: (earlier) => `Postern <no-reply@${new URL(earlier.publicUrl).hostname}>`, shown: '`Postern <no-reply@HOST of PUBLIC_URL>`' },
    description: 'Sender of sign-in mail.',
  },
  dkimDomain: {
    name: 'DKIM_DOMAIN',
    parser: domainName,
    default: { value: undefined },
    description:
      "Signs every sign-in mail with DKIM (`d=` of the signature) when set together with `DKIM_SELECTOR` and `DKIM_PRIVATE_KEY`; all three or none. For DMARC it must be `MAIL_FROM`'s domain or a parent of it. Checklist: [operations.md](operations.md#mail-deliverability-spf-dkim-dmarc).",
  },
  dkimSelector: {
    name: 'DKIM_SELECTOR',
    parser: dnsLabels,
    default: { value: undefined },
    description: 'The DKIM selector (`s=`): the public key is published as a TXT record at `SELECTOR._domainkey.DKIM_DOMAIN`.',
  },
  dkimPrivateKey: {
    name: 'DKIM_PRIVATE_KEY',
    parser: rsaPrivateKey(1024),
    default: { value: undefined },
    secret: true,
    description:
      'The DKIM signing key (rsa-sha256; 2048 bits recommended). Best given as a file: `DKIM_PRIVATE_KEY_FILE=/run/secrets/dkim.pem`; in the variable itself, line breaks may be written `\\n`. Checked at start-up: a key that does not parse refuses to start.',
  },
  redisUrl: {
    name: 'REDIS_URL',
    parser: url(['redis:', 'rediss:']),
    default: { value: undefined },
    secret: true,
    description:
      'Alone, all data lives in Redis (run it with AOF persistence); with `MONGODB_URI`, Redis keeps the short-lived data (sessions, codes, access tokens, magic links) and carries cache invalidation between instances.',
  },
  redisTlsCa: {
    name: 'REDIS_TLS_CA',
    parser: pemCertificates,
    default: { value: undefined },
    description:
      'With a `rediss://` `REDIS_URL` only: the certificate authorities that may vouch for Redis, instead of the public ones built into Node (a private CA, or a managed Redis that hands you its CA certificate). Best given as a file: `REDIS_TLS_CA_FILE=/run/secrets/redis-ca.pem`. Redis\'s certificate must name the host of `REDIS_URL`. A `rediss://` URL always speaks TLS and checks the certificate, whatever the case it is written in: [operations.md](operations.md#redis-over-tls).',
  },
  redisTlsCert: {
    name: 'REDIS_TLS_CERT',
    parser: pemCertificates,
    default: { value: undefined },
    description:
      'With a `rediss://` `REDIS_URL` only, together with `REDIS_TLS_KEY`: the client certificate (and its chain) presented to a Redis that asks for one (`tls-auth-clients yes`, Redis\'s default once TLS is on).',
  },
  redisTlsKey: {
    name: 'REDIS_TLS_KEY',
    parser: pemPrivateKey,
    default: { value: undefined },
    secret: true,
    description: 'The private key of `REDIS_TLS_CERT`; checked at start-up to be the key of that certificate. Best given as a file: `REDIS_TLS_KEY_FILE=/run/secrets/redis-client.key`.',
  },
  mongodbUri: {
    name: 'MONGODB_URI',
    parser: url(['mongodb:', 'mongodb+srv:'], {
      allowed: 'with a database name (e.g. `mongodb://mongo:27017/postern`)',
      pick: (u, raw) => (u.pathname.replace(/^\//, '') ? raw : undefined),
    }),
    default: { value: undefined },
    secret: true,
    description:
      'Alone, all data lives in MongoDB; with `REDIS_URL`, MongoDB keeps the durable data (apps, keys, accounts, grants, refresh tokens, audit). Production needs `REDIS_URL`, `MONGODB_URI` or both: without either, data is in memory (development only).',
  },
  trustProxy: {
    name: 'TRUST_PROXY',
    parser: trueOrFalse,
    default: { value: false },
    description:
      '`true` when behind a reverse proxy or load balancer that sets `X-Forwarded-For`: the client IP is then taken from it. Host and protocol always come from `PUBLIC_URL`.',
  },
  logLevel: { name: 'LOG_LEVEL', parser: oneOf(LOG_LEVELS), default: { value: 'info' }, description: 'The least severe events written to the log (stdout).' },
  logFormat: {
    name: 'LOG_FORMAT',
    parser: oneOf(LOG_FORMATS),
    default: { derive: (earlier) => (earlier.env === 'development' ? 'pretty' : 'json'), shown: '`pretty` when `NODE_ENV=development`, else `json`' },
    description:
      'One line per event either way, with the same fields. `json`: one JSON object per line, for log collectors. `pretty`: `time LEVEL message key=value …`, nested fields as `outer.inner`, values quoted as JSON when they hold spaces or other characters that would be ambiguous, control characters escaped; coloured only when stdout is a terminal.',
  },
  keyRotationDays: {
    name: 'KEY_ROTATION_DAYS',
    parser: wholeNumber(0, 3650),
    default: { value: 0 },
    description:
      "Rotate each app's signing keys automatically once its current keys are this many days old; `0` turns scheduled rotation off. Manual rotation (`POST /admin/apps/{app_id}/keys/rotate`) and the removal of retired keys work either way. The same on every instance.",
  },
  maxLinksPerMailbox: {
    name: 'MAX_LINKS_PER_MAILBOX',
    parser: wholeNumber(1, 100000),
    default: { value: 10 },
    description:
      "Sign-in links one mailbox can be sent per hour across all apps, on top of each app's `max_links_per_address`, so a mail bomb cannot multiply its budget by the number of apps. Spellings of one mailbox count together: case, a `+tag`, and for Gmail dots and `googlemail.com`. The same on every instance.",
  },
  auditRetentionDays: {
    name: 'AUDIT_RETENTION_DAYS',
    parser: wholeNumber(1, 3650),
    default: { value: 90 },
    description:
      'Days an audit event is kept; older events are never returned (a lowered value at once) and are removed by the store (Redis when the app or address is written to again, MongoDB by its TTL index). The same on every instance.',
    },
  shutdownTimeoutSeconds: {
    name: 'SHUTDOWN_TIMEOUT_SECONDS',
    parser: wholeNumber(1, 600),
    default: { value: 10 },
    description:
      "On SIGTERM, the longest Postern waits for requests in progress and sign-in mail being sent; it exits as soon as both are done. Keep it below your orchestrator's kill timeout (Kubernetes `terminationGracePeriodSeconds`, 30 s by default). See [operations.md](operations.md).",
  },
  storeTimeoutMs: {
    name: 'STORE_TIMEOUT_MS',
    parser: wholeNumber(50, 60_000),
    default: { value: 2_000 },
    description:
      'How long one Redis or MongoDB command may wait for its answer. A request that meets a stalled store answers `503 temporarily_unavailable` with `Retry-After` after about this long (MongoDB: each step of an operation, so up to about three times as long), later requests fail at once until the store answers again, and nothing is queued meanwhile. A command that timed out may still run on the store afterwards. `/readyz` answers within a second, whatever this is.',
  },
  maxEventLoopLagMs: {
    name: 'MAX_EVENT_LOOP_LAG_MS',
    parser: wholeNumber(0, 60_000),
    default: { value: 50 },
    description:
      'Load shedding: while the event loop of the process lags more than this (the longest stall in the last second), the expensive routes (the token endpoint, the sign-in steps that send or check a link or code, admin writes other than signing an account out) answer `503 temporarily_unavailable` with `Retry-After` instead of starting; in a burst they wait for their turn and are refused after 100 ms of waiting, whatever the lag; every other route, `/healthz` and `/readyz` included, is served. `0` turns load shedding off.',
  },
  providerCacheMb: {
    name: 'PROVIDER_CACHE_MB',
    parser: wholeNumber(8, 65_536),
    default: { value: 256 },
    description:
      'Memory (MiB) of live heap for the per-process caches of apps\' OpenID Providers and of their discovery documents and JWKS. Three quarters go to Providers (about 80 KiB each, measured; 256: about 2,450 apps), each cached from its app\'s second request, and once the cache is full at most its size\'s worth replaced every five minutes; a quarter to documents, counted by their bytes (about 3 KiB an app for discovery, 1 KiB for the JWKS; 256: about 16,000 apps with both). A request for an app not in the cache builds its Provider from the stored record (about 1 ms of CPU). The process needs a V8 heap limit of 2.5 times this setting and refuses to start with less: the start command (Dockerfile, `npm start`) sets `--max-old-space-size=640 --max-semi-space-size=8`, and that cap, not the live heap, is what resident memory comes to under traffic spread over many apps (about the cap plus 200 MiB at most; see docs/operations.md, Memory). To raise this setting, raise `--max-old-space-size` to 2.5 times it (in the command or `NODE_OPTIONS`).',
  },
  metricsToken: {
    name: 'METRICS_TOKEN',
    parser: bearerToken(MIN_SECRET_LENGTH),
    default: { value: undefined },
    secret: true,
    distinct: true,
    description:
      'Bearer token for `GET /metrics` (Prometheus text format; see [operations.md](operations.md#metrics)), compared in constant time. Unset: `/metrics` answers 404 in production and is open to anyone who reaches the port in development and test. Its own secret: refused when another setting holds it. The same on every instance, or one per instance if each is scraped on its own.',
  },
  metricsAppLabels: {
    name: 'METRICS_APP_LABELS',
    parser: wholeNumber(0, 100_000),
    default: { value: 1000 },
    description:
      'How many apps get series of their own (label `app_id`) in the per-app counters of `/metrics`, per process: the first apps counted after start keep theirs for the life of the process, and the rest are counted under `app_id="other"`, so totals stay exact while the exposition and its memory stay bounded however many apps there are. 0: every per-app counter is `other`.',
  },
  es512Signer: {
    name: 'ES512_SIGNER',
    parser: oneOf(ES512_SIGNERS),
    default: { value: 'auto' },
    description:
      "Who makes ES512 signatures (ID tokens and every other JWS signed with an app's ES512 key). `auto`: the native signer against the system's libcrypto (`npm run build:native`), several times faster than Node's, when it loads and passes its known-answer check, else Node's crypto with one warning at start naming why; `native`: refuse to start without it; `node`: always Node's crypto. The log line `ES512 signer` at start says which runs; see [es512-signer.md](es512-signer.md).",
  },
} satisfies { readonly [K in keyof SettingValues]: Setting<SettingValues[K]> };

export type DeclaredSetting = Setting<unknown> & { readonly key: keyof SettingValues };

/** The declarations in order (a default may derive from settings above it). */
export const SETTINGS: readonly DeclaredSetting[] = Object.entries(DECLARED).map(([key, setting]) => ({
  key: key as keyof SettingValues,
  ...setting,
}));
