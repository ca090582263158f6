// The services of one Postern process, wired together: audit trail, apps and their
// Providers, the mail queue, back-channel logout, the sign-in steps and key upkeep.
// server.ts puts HTTP in front of them.
import type { Config } from '../config/load.ts';
import { AppsService } from './apps/apps-service.ts';
import { ClientsService } from './apps/clients-service.ts';
import { DeletionSweeper } from './apps/deletion-sweeper.ts';
import { findClient, idTokenAlgOf } from './apps/clients.ts';
import type { InputRules } from './admin/app-input.ts';
import { createAuditLog, type AuditEvent, type AuditLog } from './audit.ts';
import type { Clock } from './clock.ts';
import { deriveKey } from './keys/encryption.ts';
import type { Es512Signer } from './keys/native-signer.ts';
import { KeyRotationScheduler } from './keys/rotation-scheduler.ts';
import { SealedOidcStore } from './keys/sealed-oidc-store.ts';
import type { Logger } from './log.ts';
import { BackchannelLogout } from './logout/backchannel-logout.ts';
import type { DeliveryQueueOptions } from './delivery/delivery-queue.ts';
import { MailQueue, type MailQueueOptions } from './mail/mail-queue.ts';
import type { Mailer } from './mail/mailer.ts';
import type { Metrics } from './metrics/metrics.ts';
import { LinkRequests } from './sign-in/link-requests.ts';
import { MagicLinks } from './sign-in/magic-links.ts';
import { SignIn } from './sign-in/sign-in.ts';
import type { OidcStore, Stores } from './storage/ports.ts';
import { createProvider } from './tenancy/create-provider.ts';
import { cacheSizes, ProviderRegistry, PROVIDER_CACHE_REPLACE_MS } from './tenancy/provider-registry.ts';
import { clientMetadataOf } from './oidc/client-metadata.ts';
import { validateClientMetadata } from './oidc/engine.ts';
import type { ProviderDeps } from './oidc/provider-config.ts';

export interface ServiceDeps {
  readonly config: Config;
  readonly stores: Stores;
  readonly mailer: Mailer;
  readonly logger: Logger;
  readonly clock: Clock;
  /** Retry schedule and deadlines of the mail queue (tests shorten them). */
  readonly mail?: MailQueueOptions | undefined;
  /** Retry schedule and deadlines of back-channel logout (tests shorten them). */
  readonly backchannel?: DeliveryQueueOptions | undefined;
  /** Renders the engine's error and logout pages in the hosted pages' look. */
  readonly pages: ProviderDeps['pages'];
  /** What the services count into (the server's registry). */
  readonly metrics: Metrics;
  /** Who makes ES512 signatures (unset: the engine itself, with Node's crypto). */
  readonly es512?: Es512Signer | undefined;
}

export interface Services {
  readonly audit: AuditLog;
  readonly registry: ProviderRegistry;
  readonly apps: AppsService;
  readonly clients: ClientsService;
  /** The rules for registered URIs (http loopback endpoints outside production only). */
  readonly rules: InputRules;
  readonly mailQueue: MailQueue;
  readonly backchannel: BackchannelLogout;
  readonly signIn: SignIn;
  readonly keyRotation: KeyRotationScheduler;
  readonly appDeletions: DeletionSweeper;
  /** The engine's documents as every part of Postern reads them (sealed where they have a rest: engineDocuments). */
  readonly documents: OidcStore;
}

const WRONG_CODES_PER_IP = 30; // per 15 minutes, across login attempts; an IPv6 /64 counts as one IP

type AuditContext = Omit<AuditEvent, 'type' | 'outcome'>;

/**
 * The one place that decides whether the engine's documents are sealed. Redis and MongoDB
 * hold them outside this process (dumps, backups, replicas, monitoring tools): there ids
 * are hashed and contents sealed (keys/sealed-oidc-store.ts). The memory store has no
 * rest: its documents live in this heap beside KEY_ENCRYPTION_KEY and the keys derived
 * from it, are never written anywhere and are gone on exit, so whoever can read them can
 * read the keys too, and sealing them (an HMAC per id, AES-GCM per document, on every
 * request) would protect nothing. It hands out copies of each document (engine.ts A61),
 * so nothing the engine does to what it read changes what is stored.
 */
function engineDocuments(stores: Stores, kek: Buffer): OidcStore {
  return stores.kind === 'memory' ? stores.oidc : new SealedOidcStore(stores.oidc, kek);
}

export function composeServices(deps: ServiceDeps): Services {
  const { config, stores, logger, clock, metrics } = deps;
  const log = createAuditLog(logger, stores.audit, config.auditRetentionDays * 24 * 60 * 60, clock);
  // Every event is counted as it is recorded: the audit trail is the metrics' one source
  // for the sign-in funnel, revocations and deliveries given up.
  const audit: AuditLog = {
    ...log,
    record(event) {
      log.record(event);
      metrics.audited(event);
    },
  };
  const apps = new AppsService({
    stores,
    clock,
    kek: config.keyEncryptionKey,
    validateClient: (app) => validateClientMetadata(clientMetadataOf(app, config.keyEncryptionKey)),
    async changed(id) {
      registry.invalidate(id);
      await stores.changes.publish(id).catch((err: unknown) => {
        logger.warn('app change not broadcast; other instances pick it up on revalidation', { app_id: id, err: String(err) });
      });
    },
  });

  const clients = new ClientsService({ apps, clock, kek: config.keyEncryptionKey, validateMetadata: (metadata) => validateClientMetadata(metadata as Parameters<typeof validateClientMetadata>[0]) });
  // The rules for registered URIs, the same for the admin API and registration.
  const rules: InputRules = { httpLoopbackEndpoints: config.env !== 'production' };
  const documents = engineDocuments(stores, config.keyEncryptionKey);
  const providerDeps: ProviderDeps = {
    clients,
    rules,
    stores: { ...stores, oidc: documents },
    kek: config.keyEncryptionKey,
    cookieSecrets: config.cookieSecrets,
    secureCookies: config.publicUrl.startsWith('https://'),
    logger,
    clock,
    pages: deps.pages,
    showEngineErrors: config.env !== 'production',
    metrics,
    es512: deps.es512,
  };
  const backchannel = new BackchannelLogout({
    outbox: stores.logoutOutbox,
    apps: stores.apps,
    kek: config.keyEncryptionKey,
    publicUrl: config.publicUrl,
    clock,
    logger,
    audit,
    // The client's own choice, as the engine signs its ID tokens.
    signingAlgOf: (app, clientId) => {
      const client = findClient(app, clientId);
      return client ? idTokenAlgOf(client) : String(clientMetadataOf(app, config.keyEncryptionKey).id_token_signed_response_alg);
    },
    es512: deps.es512,
    onAttempt: metrics.delivery('backchannel_logout'),
    options: deps.backchannel,
  });
  const registry = new ProviderRegistry(stores.apps, (app) => createProvider(app, config.publicUrl, providerDeps, audit, backchannel), {
    // With Redis, changes arrive by pub/sub and this is only a safety net; without a bus
    // (MongoDB alone) it is how other instances' changes are picked up.
    revalidateMs: stores.kind === 'memory' ? Number.POSITIVE_INFINITY : stores.kind.includes('redis') ? 30_000 : 1_000,
    ...cacheSizes(config.providerCacheMb),
    replaceMs: PROVIDER_CACHE_REPLACE_MS,
    clock,
  });
  stores.changes.subscribe({ changed: (appId) => registry.invalidate(appId), missed: () => registry.revalidateAll() });

  const mailQueue = new MailQueue({
    outbox: stores.outbox,
    mailer: deps.mailer,
    kek: config.keyEncryptionKey,
    clock,
    logger,
    options: deps.mail,
    // An app in use has its Provider cached and fresh (a deletion anywhere drops it: the
    // change bus, or revalidation): no store read for the sign-in mail of a live app.
    appExists: async (appId) => registry.ready(appId) !== undefined || (await stores.apps.get(appId)) !== undefined,
    onSent: (context, attempts) =>
      audit.record({ ...(context as AuditContext), type: 'mail.sent', outcome: 'success', reason: attempts > 1 ? `after ${attempts} attempts` : undefined }),
    onFailed: (context, reason) => audit.record({ ...(context as AuditContext), type: 'mail.failed', outcome: 'failure', reason }),
    onAttempt: metrics.delivery('mail'),
  });

  const links = new MagicLinks(stores.magicLinks, clock, deriveKey(config.keyEncryptionKey, 'postern short codes'));
  const signIn = new SignIn({
    links,
    linkRequests: new LinkRequests({
      links,
      mail: mailQueue,
      audit,
      logger,
      limiter: stores.rateLimiter,
      maxLinksPerMailbox: config.maxLinksPerMailbox,
      // Derived, so the key-encryption key itself keys nothing else.
      limitKeySecret: deriveKey(config.keyEncryptionKey, 'postern limit keys'),
    }),
    accounts: stores.accounts,
    audit,
    clock,
    wrongCodesPerIp: stores.rateLimiter('wrong-code-ip', WRONG_CODES_PER_IP, 15 * 60),
  });

  const keyRotation = new KeyRotationScheduler({ apps, rotationDays: config.keyRotationDays, logger, audit, clock });
  const appDeletions = new DeletionSweeper({
    target: { deletions: (limit, after) => stores.apps.deletions(limit, after), forget: (id) => stores.apps.forget(id), purge: (id) => apps.purge(id) },
    logger,
    clock,
  });
  return { audit, registry, apps, clients, rules, mailQueue, backchannel, signIn, keyRotation, appDeletions, documents };
}
