// Where an app lives: every app is one issuer under PUBLIC_URL, and its engine, hosted
// pages and cookies sit under that path. The one place the path is spelt.
export const APPS_PREFIX = '/apps';

export function appPath(appId: string): string {
  return `${APPS_PREFIX}/${appId}`;
}

export function issuerOf(publicUrl: string, appId: string): string {
  return `${publicUrl}${appPath(appId)}`;
}
