// The MongoDB driver: connects and prepares collections and indexes (idempotent, at start-up).
import { MongoClient, MongoServerError } from 'mongodb';
import { guardStores, StoreProbe } from '../guard.ts';
import { LocalChangeBus } from '../local-change-bus.ts';
import { StoreRefusedError, StoreUnavailableError, type Stores } from '../ports.ts';
import { rateLimiterFactory } from '../rate-limiters.ts';
import { createOidcIndexes, MongoOidcStore, type OidcDocument } from './mongo-oidc-store.ts';
import { createOutboxIndexes, MongoOutbox, type OutboxDocument } from './mongo-outbox.ts';
import {
  MongoAccountStore,
  MongoAppStore,
  MongoAuditStore,
  MongoMagicLinkStore,
  type AccountDocument,
  type AppDocument,
  type AuditDocument,
  type LatestLinkDocument,
  type MagicLinkDocument,
} from './mongo-stores.ts';

/**
 * Every store in MongoDB, guarded; fails with StoreUnavailableError when MongoDB is
 * unreachable. `timeoutMs` bounds each step of every operation (below).
 */
export async function openMongoStores(uri: string, timeoutMs: number): Promise<Stores> {
  const client = new MongoClient(uri, {
    // ignoreUndefined: optional fields are left out, as in the other stores, rather than stored as null.
    ignoreUndefined: true,
    connectTimeoutMS: 5_000,
    // The deadline, per step of an operation: finding a server to send it to (none
    // reachable: a primary being elected, the network gone), waiting for a pooled
    // connection (all busy with commands that hang), and waiting for the answer on the
    // socket (a server that accepts but does not answer). So an operation against a
    // stalled server fails within about one deadline (two or three when the steps stall
    // one after another) rather than hanging, and no request waits in the pool's queue
    // longer than that. A socket that timed out is closed; the server may still finish
    // an operation it had received (docs/operations.md).
    serverSelectionTimeoutMS: timeoutMs,
    waitQueueTimeoutMS: timeoutMs,
    socketTimeoutMS: timeoutMs,
  });
  try {
    await client.connect();
  } catch (err) {
    throw mongoFailure(err);
  }
  const db = client.db();
  const oidcDocs = db.collection<OidcDocument>('oidc');
  const accounts = db.collection<AccountDocument>('accounts');
  const links = db.collection<MagicLinkDocument>('magic_links');
  const latestLinks = db.collection<LatestLinkDocument>('magic_link_attempts');
  const audit = db.collection<AuditDocument>('audit');
  const outbox = db.collection<OutboxDocument>('outbox');
  const logoutOutbox = db.collection<OutboxDocument>('logout_outbox');
  try {
    await createOidcIndexes(oidcDocs);
    await createOutboxIndexes(outbox);
    await createOutboxIndexes(logoutOutbox);
    await accounts.createIndex({ appId: 1 });
    // AppStore.page: apps oldest first, a page read from the index, not by sorting them all.
    await db.collection<AppDocument>('apps').createIndexes([
      { key: { createdAt: 1, _id: 1 }, name: 'created' },
      // AppStore.deletions: the deletion marks alone, oldest first, then by id (a page's
      // cursor). Its own name: the { deletedAt } index named 'deleted' that earlier versions
      // made may stay, or be dropped once none of them runs.
      { key: { deletedAt: 1, _id: 1 }, name: 'deleted_order', partialFilterExpression: { deletedAt: { $exists: true } } },
    ]);
    await links.createIndexes([
      { key: { retainUntil: 1 }, expireAfterSeconds: 0, name: 'ttl' },
      { key: { appId: 1 }, name: 'app' },
    ]);
    await latestLinks.createIndexes([
      { key: { retainUntil: 1 }, expireAfterSeconds: 0, name: 'ttl' },
      { key: { appId: 1 }, name: 'app' },
    ]);
    await audit.createIndexes([
      { key: { retainUntil: 1 }, expireAfterSeconds: 0, name: 'ttl' },
      { key: { appId: 1, at: -1, _id: -1 }, name: 'app_at' },
      // A query by address reads that address's events only.
      { key: { appId: 1, email: 1, at: -1, _id: -1 }, name: 'app_email_at' },
      // The instance's trail (INSTANCE_TRAIL), apart from every app's.
      { key: { trail: 1, at: -1, _id: -1 }, name: 'trail_at', partialFilterExpression: { trail: { $exists: true } } },
    ]);
  } catch (err) {
    // Connected, but the indexes could not be made (a timeout, a user without the
    // createIndex right, an index of the same name made otherwise): MongoDB is unusable
    // as configured, reported as such at start-up.
    await client.close().catch(() => {});
    throw mongoFailure(err);
  }
  const probe = new StoreProbe();
  return guardStores('mongodb', {
    kind: 'mongodb',
    apps: new MongoAppStore(db.collection<AppDocument>('apps')),
    accounts: new MongoAccountStore(accounts),
    oidc: new MongoOidcStore(oidcDocs),
    magicLinks: new MongoMagicLinkStore(links, latestLinks),
    audit: new MongoAuditStore(audit),
    changes: new LocalChangeBus(),
    outbox: new MongoOutbox(outbox),
    logoutOutbox: new MongoOutbox(logoutOutbox),
    rateLimiter: rateLimiterFactory({ kind: 'mongodb', client, probe }),
    async purgeApp(appId: string) {
      await Promise.all([
        oidcDocs.deleteMany({ appId }),
        accounts.deleteMany({ appId }),
        links.deleteMany({ appId }),
        latestLinks.deleteMany({ appId }),
        audit.deleteMany({ appId, trail: { $exists: false } }),
      ]);
    },
    // The driver reconnects per operation from its pool; only a ping tells whether it answers.
    unreachable: () => undefined,
    async ping() {
      await db.command({ ping: 1 });
    },
    async close() {
      await Promise.allSettled([client.close()]);
    },
  }, probe);
}

/** The server's own answer (authentication failed, not authorized, an index conflict) is a refusal; anything else, MongoDB out of reach. */
function mongoFailure(err: unknown): StoreUnavailableError {
  return err instanceof MongoServerError ? new StoreRefusedError('mongodb', err) : new StoreUnavailableError('mongodb', err);
}
