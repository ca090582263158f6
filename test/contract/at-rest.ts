// Everything a driver holds, keys and values, read the way someone with access to the
// store (a backup, a replica, a monitoring tool) would read it: as text.
import { allApps } from '../helpers/all-apps.ts';
import { Redis } from 'ioredis';
import { MongoClient } from 'mongodb';
import { MemoryOidcStore } from '../../src/storage/memory/memory-oidc-store.ts';
import { MemoryOutbox } from '../../src/storage/memory/memory-outbox.ts';
import { MemoryMagicLinkStore } from '../../src/storage/memory/memory-stores.ts';
import type { Stores } from '../../src/storage/ports.ts';

/** The memory driver's engine documents, magic links and outboxes (they live in the process; nothing else reads them). */
export async function memoryAtRest(stores: Stores): Promise<string> {
  if (!(stores.oidc instanceof MemoryOidcStore) || !(stores.outbox instanceof MemoryOutbox) || !(stores.magicLinks instanceof MemoryMagicLinkStore)) throw new Error('not the memory driver');
  const out: string[] = [];
  for (const [appId, map] of stores.oidc.apps) {
    for (const [key, value] of map.entries()) out.push(appId, key, JSON.stringify(value));
  }
  for (const map of [stores.magicLinks.records, stores.magicLinks.latest]) {
    for (const [key, value] of map.entries()) out.push('link', key, JSON.stringify(value));
  }
  // App records hold keys and client secrets (sealed) and initial access tokens (hashed).
  for (const app of await allApps(stores.apps)) out.push('app', app.id, JSON.stringify(app));
  for (const outbox of [stores.outbox, stores.logoutOutbox]) {
    if (!(outbox instanceof MemoryOutbox)) throw new Error('not the memory driver');
    for (const [id, held] of outbox.messages) out.push('outbox', id, JSON.stringify(held));
  }
  return out.join('\n');
}

/** Every key of the Redis database and its value, whatever its type. */
export async function redisAtRest(url: string): Promise<string> {
  const redis = new Redis(url, { lazyConnect: true });
  await redis.connect();
  try {
    const out: string[] = [];
    for (const key of await redis.keys('*')) {
      const type = await redis.type(key);
      const value =
        type === 'string' ? await redis.get(key)
        : type === 'hash' ? await redis.hgetall(key)
        : type === 'set' ? await redis.smembers(key)
        : type === 'zset' ? await redis.zrange(key, 0, -1, 'WITHSCORES')
        : type === 'list' ? await redis.lrange(key, 0, -1)
        : `(${type})`;
      out.push(key, JSON.stringify(value));
    }
    return out.join('\n');
  } finally {
    redis.disconnect();
  }
}

/** Every document of every collection of the database, as extended JSON. */
export async function mongoAtRest(uri: string): Promise<string> {
  const client = await MongoClient.connect(uri);
  try {
    const db = client.db();
    const out: string[] = [];
    for (const { name } of await db.listCollections({}, { nameOnly: true }).toArray()) {
      for (const doc of await db.collection(name).find({}).toArray()) out.push(name, JSON.stringify(doc));
    }
    return out.join('\n');
  } finally {
    await client.close();
  }
}
