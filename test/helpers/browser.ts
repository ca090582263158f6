// A minimal browser for HTTP-level tests: a cookie jar that honours Path, Max-Age and
// Expires, manual redirect following, and form extraction from the HTML pages. Each
// instance is one browser; two instances are two browsers (separate cookies).
export interface Page {
  readonly status: number;
  readonly url: string;
  readonly headers: Headers;
  readonly body: string;
}

interface Cookie {
  name: string;
  value: string;
  path: string;
  expires: number | undefined;
}

export class Browser {
  readonly cookies: Cookie[] = [];
  /** Sent with every request, as a real browser sends its Accept-Language. */
  readonly #headers: Record<string, string>;

  constructor(headers: Record<string, string> = {}) {
    this.#headers = headers;
  }

  #store(setCookies: string[]) {
    for (const header of setCookies) {
      const [pair = '', ...attrs] = header.split(';').map((s) => s.trim());
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      let path = '/';
      let expires: number | undefined;
      for (const attr of attrs) {
        const [k = '', v = ''] = attr.split('=');
        const key = k.toLowerCase();
        if (key === 'path') path = v;
        if (key === 'max-age') expires = Date.now() + Number(v) * 1000;
        if (key === 'expires' && expires === undefined) expires = Date.parse(v);
      }
      const existing = this.cookies.findIndex((c) => c.name === name && c.path === path);
      if (existing >= 0) this.cookies.splice(existing, 1);
      if (expires === undefined || expires > Date.now()) this.cookies.push({ name, value, path, expires });
    }
  }

  cookieHeader(url: string): string {
    const { pathname } = new URL(url);
    return this.cookies
      .filter((c) => (c.expires === undefined || c.expires > Date.now()) && (pathname === c.path || pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`)))
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
  }

  /** One request, no redirect following. */
  async request(url: string, init: { method?: string; form?: Record<string, string>; headers?: Record<string, string> } = {}): Promise<Page> {
    const headers: Record<string, string> = { accept: 'text/html', ...this.#headers, ...init.headers };
    const cookie = this.cookieHeader(url);
    if (cookie) headers.cookie = cookie;
    let body: string | undefined;
    if (init.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(init.form).toString();
    }
    const res = await fetch(url, { method: init.method ?? (init.form ? 'POST' : 'GET'), headers, body, redirect: 'manual' });
    this.#store(res.headers.getSetCookie());
    return { status: res.status, url, headers: res.headers, body: await res.text() };
  }

  /** Follows redirects until a page answers, or until a URL starting with `stopAt` is reached. */
  async navigate(
    url: string,
    init: { method?: string; form?: Record<string, string> } = {},
    stopAt?: string,
  ): Promise<Page> {
    let page = await this.request(url, init);
    for (let hops = 0; hops < 20; hops++) {
      const location = page.headers.get('location');
      if (page.status < 300 || page.status >= 400 || !location) return page;
      const next = new URL(location, page.url).href;
      if (stopAt && next.startsWith(stopAt)) return { ...page, url: next };
      page = await this.request(next);
    }
    throw new Error('too many redirects');
  }

  /** Submits the first form on the page (or the one whose action contains `match`). */
  async submit(page: Page, fields: Record<string, string> = {}, match?: string, stopAt?: string): Promise<Page> {
    const form = formOn(page, match);
    return this.navigate(new URL(form.action, page.url).href, { form: { ...form.fields, ...fields } }, stopAt);
  }
}

export interface Form {
  readonly action: string;
  readonly method: 'GET' | 'POST';
  readonly fields: Record<string, string>;
}

/** Every form on the page with its action (as written), its method and its hidden fields. */
export function formsOn(page: Page): Form[] {
  return [...page.body.matchAll(/<form([^>]*)>([\s\S]*?)<\/form>/g)].flatMap((form) => {
    const action = /action="([^"]*)"/.exec(form[1] ?? '')?.[1];
    if (action === undefined) return [];
    const fields: Record<string, string> = {};
    for (const input of (form[2] ?? '').matchAll(/<input[^>]*type="hidden"[^>]*>/g)) {
      const name = /name="([^"]*)"/.exec(input[0])?.[1];
      const value = /value="([^"]*)"/.exec(input[0])?.[1] ?? '';
      if (name) fields[name] = unescape(value);
    }
    const method = /method="post"/i.test(form[1] ?? '') ? 'POST' : 'GET';
    return [{ action: unescape(action), method, fields }];
  });
}

export function formOn(page: Page, match?: string): Form {
  const form = formsOn(page).find((f) => !match || f.action.includes(match));
  if (!form) throw new Error(`no form${match ? ` matching ${match}` : ''} on page ${page.url}:\n${page.body.slice(0, 500)}`);
  return form;
}

function unescape(value: string): string {
  return value.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}
