// Every app, a page at a time: how a pass over all apps (key upkeep) reads them, so it
// never holds more than one page of records, and gives the event loop a turn between
// pages, so a pass over 100,000 apps does not hold up the requests served meanwhile.
import type { AppRecord, AppStore } from '../storage/ports.ts';

export const APP_PAGE_SIZE = 200;

export async function* appPages(apps: Pick<AppStore, 'page'>, size = APP_PAGE_SIZE): AsyncGenerator<AppRecord[]> {
  let after: string | undefined;
  do {
    const page = await apps.page(size, after);
    if (page.apps.length) yield page.apps;
    after = page.next;
    // A store that answers from memory resolves at once: without this, the whole pass
    // would run in one turn of the event loop.
    if (after !== undefined) await new Promise((resolve) => setImmediate(resolve));
  } while (after !== undefined);
}
