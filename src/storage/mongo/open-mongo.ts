// Connects to MongoDB and prepares collections and indexes (idempotent, at start-up).
import { MongoClient, type Db } from 'mongodb';
import { StoreUnavailableError } from '../ports.ts';
import { createOidcIndexes, MongoOidcStore, type OidcDocument } from './mongo-oidc-store.ts';
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

export interface MongoParts {
  readonly client: MongoClient;
  readonly db: Db;
  readonly apps: MongoAppStore;
  readonly accounts: MongoAccountStore;
  readonly oidc: MongoOidcStore;
  readonly magicLinks: MongoMagicLinkStore;
  readonly audit: MongoAuditStore;
  purgeApp(appId: string): Promise<void>;
  ping(): Promise<void>;
}

export async function openMongo(uri: string): Promise<MongoParts> {
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
  await createOidcIndexes(oidcDocs);
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
    { key: { app_id: 1, at: -1, _id: -1 }, name: 'app_time' },
  ]);
  return {
    client,
    db,
    apps: new MongoAppStore(db.collection<AppDocument>('apps')),
    accounts: new MongoAccountStore(accounts),
    oidc: new MongoOidcStore(oidcDocs),
    magicLinks: new MongoMagicLinkStore(links, latestLinks),
    audit: new MongoAuditStore(audit),
    async purgeApp(appId: string) {
      await Promise.all([
        oidcDocs.deleteMany({ appId }),
        accounts.deleteMany({ appId }),
        links.deleteMany({ appId }),
        latestLinks.deleteMany({ appId }),
        audit.deleteMany({ app_id: appId }),
      ]);
    },
    async ping() {
      try {
        await db.command({ ping: 1 });
      } catch (err) {
        throw new StoreUnavailableError('mongodb', err);
      }
    },
  };
}
