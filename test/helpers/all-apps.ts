// Every stored app, read the way the server reads them: a page at a time.
import { appPages } from '../../src/apps/app-pages.ts';
import type { AppRecord, AppStore } from '../../src/storage/ports.ts';

export async function allApps(apps: Pick<AppStore, 'page'>, pageSize?: number): Promise<AppRecord[]> {
  const all: AppRecord[] = [];
  for await (const page of appPages(apps, pageSize)) all.push(...page);
  return all;
}
