// The MongoDB driver: connects and prepares collections and indexes (idempotent, at start-up).
import { MongoClient } from 'mongodb';
import { guardStores } from '../guard.ts';
import { LocalChangeBus } from '../local-change-bus.ts';
import { StoreUnavailableError, type Stores } from '../ports.ts';
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

/** Every store in MongoDB, guarded; fails with StoreUnavailableError when MongoDB is unreachable. */
export async function openMongoStores(uri: string): Promise<Stores> {
  // ignoreUndefined: optional fields are left out, as in the other stores, rather than stored as null.
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: 5_000, connectTimeoutMS: 5_000, ignoreUndefined: true });
  try {
    await client.connect();
  } catch (err) {
    throw new StoreUnavailableError('mongodb', err);
  }
  const db = client.db();
  const oidcDocs = db.collection<OidcDocument>('oidc');
  const accounts = db.collection<AccountDocument>('accounts');
  const links = db.collection<MagicLinkDocument>('magic_links');
  const latestLinks = db.collection<LatestLinkDocument>('magic_link_attempts');
  const audit = db.collection<AuditDocument>('audit');
  const outbox = db.collection<OutboxDocument>('outbox');
  await createOidcIndexes(oidcDocs);
  await createOutboxIndexes(outbox);
  await accounts.createIndex({ appId: 1 });
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
  ]);
  return guardStores('mongodb', {
    kind: 'mongodb',
    apps: new MongoAppStore(db.collection<AppDocument>('apps')),
    accounts: new MongoAccountStore(accounts),
    oidc: new MongoOidcStore(oidcDocs),
    magicLinks: new MongoMagicLinkStore(links, latestLinks),
    audit: new MongoAuditStore(audit),
    changes: new LocalChangeBus(),
    outbox: new MongoOutbox(outbox),
    rateLimiter: rateLimiterFactory({ kind: 'mongodb', client }),
    async purgeApp(appId: string) {
      await Promise.all([
        oidcDocs.deleteMany({ appId }),
        accounts.deleteMany({ appId }),
        links.deleteMany({ appId }),
        latestLinks.deleteMany({ appId }),
        audit.deleteMany({ appId }),
      ]);
    },
    async ping() {
      await db.command({ ping: 1 });
    },
    async close() {
      await Promise.allSettled([client.close()]);
    },
  });
}
