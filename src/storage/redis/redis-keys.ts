// Every Redis key Postern writes, in one place. All per-app keys start with
// `postern:{appId}:`, so an app's data can be found (and purged) by prefix; the instance's
// audit trail is `postern:instance:…` (never an app id: those are UUIDs).
export const PREFIX = 'postern:';

export const keys = {
  apps: `${PREFIX}apps`,
  /** Every app's cursor (ports.ts appCursorOf), all at score 0: ordered by the string, paged with ZRANGE BYLEX. */
  appOrder: `${PREFIX}apps:order`,
  /** Deleted apps whose data may still be being purged: ids scored by when each was deleted. */
  appDeletions: `${PREFIX}apps:deleted`,
  /** When each deleted app's latest finished purge began: app id → epoch ms. */
  appPurges: `${PREFIX}apps:purged`,
  appChanges: `${PREFIX}app-changes`,
  /** Sign-in mail of every app, waiting to be sent: ids scored by when each is due, and the messages. */
  mailOutbox: { due: `${PREFIX}outbox:due`, messages: `${PREFIX}outbox:mail` },
  /** Back-channel logout notifications of every app, waiting to be delivered: the same shape. */
  logoutOutbox: { due: `${PREFIX}logout-outbox:due`, messages: `${PREFIX}logout-outbox:messages` },
  app: (appId: string) => `${PREFIX}${appId}:`,
  doc: (appId: string, model: string, id: string) => `${PREFIX}${appId}:m:${model}:${id}`,
  uid: (appId: string, model: string, uid: string) => `${PREFIX}${appId}:uid:${model}:${uid}`,
  userCode: (appId: string, model: string, code: string) => `${PREFIX}${appId}:ucode:${model}:${code}`,
  grant: (appId: string, grantId: string) => `${PREFIX}${appId}:grant:${grantId}`,
  accountDocs: (appId: string, accountId: string) => `${PREFIX}${appId}:acct-docs:${accountId}`,
  account: (appId: string, email: string) => `${PREFIX}${appId}:account:${email}`,
  magicLink: (appId: string, hash: string) => `${PREFIX}${appId}:link:${hash}`,
  latestLink: (appId: string, interactionUid: string) => `${PREFIX}${appId}:link-latest:${interactionUid}`,
  audit: (appId: string) => `${PREFIX}${appId}:audit`,
  auditByEmail: (appId: string, email: string) => `${PREFIX}${appId}:audit-email:${email}`,
  auditByType: (appId: string, type: string) => `${PREFIX}${appId}:audit-type:${type}`,
};

/** "postern:{app}:m:{Model}:{id}" → Model, for keys taken from an index set. */
export function modelOf(docKey: string): string | undefined {
  return /:m:([A-Za-z]+):/.exec(docKey)?.[1];
}

/** "postern:{app}:m:{Model}:{id}" → id (the ids above the driver are keyed hashes, without colons). */
export function idOf(docKey: string): string {
  return docKey.slice(docKey.lastIndexOf(':') + 1);
}
