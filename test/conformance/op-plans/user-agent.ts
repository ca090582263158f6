// The person at the browser. It follows the OP's redirects and stops at the first step
// that leaves the OP, a redirect or a self-submitting form_post page aimed at a client
// URI, or at a page the OP shows (login, sign-out confirmation, error). When the OP asks
// it to sign in, it does what a person does: types the address, opens the link from the
// mail and confirms.
import { Browser, formOn, formsOn, type Page } from '../../helpers/browser.ts';
import type { Harness } from '../../helpers/harness.ts';
import type { AuthorizationRequest, RelyingParty } from './relying-party.ts';

/** Where the browser ended up: sent to a client (how, and with what), or shown a page by the OP. */
export type Arrival =
  | { readonly at: 'client'; readonly url: URL; readonly method: 'GET' | 'POST'; readonly params: URLSearchParams }
  | { readonly at: 'op'; readonly page: Page };

/** A page in a line, for failure messages: status, title and first paragraph. */
export function describePage(page: Page): string {
  const text = (pattern: RegExp) => pattern.exec(page.body)?.[1]?.replace(/<[^>]*>/g, '').replace(/\s+/g, ' ').trim();
  return [`${page.status}`, text(/<title>([\s\S]*?)<\/title>/), text(/<p>([\s\S]*?)<\/p>/)].filter(Boolean).join(' ');
}

export class UserAgent {
  readonly browser = new Browser();
  readonly #h: Harness;
  /** Who this person signs in as. */
  readonly email: string;

  constructor(h: Harness, email: string) {
    this.#h = h;
    this.email = email;
  }

  /** Opens `url` (a GET, or a POST of `form`) and follows the OP until something arrives. */
  async open(url: string, form?: Record<string, string>): Promise<Arrival> {
    const origin = new URL(this.#h.url).origin;
    let page = await this.browser.request(url, form ? { form } : {});
    for (let hops = 0; hops < 20; hops++) {
      const location = page.headers.get('location');
      if (page.status >= 300 && page.status < 400 && location) {
        const next = new URL(location, page.url);
        if (next.origin !== origin) return { at: 'client', url: next, method: 'GET', params: next.searchParams };
        page = await this.browser.request(next.href);
        continue;
      }
      // A page whose script submits its form on load (a form_post response) is submitted,
      // as a browser runs it: to a client, that is where the browser arrives.
      const form = /<script[^>]*>[^<]*\.submit\(\)/.test(page.body) ? formsOn(page)[0] : undefined;
      if (!form) return { at: 'op', page };
      const target = new URL(form.action, page.url);
      if (form.method === 'GET') for (const [k, v] of Object.entries(form.fields)) target.searchParams.set(k, v);
      if (target.origin !== origin) return { at: 'client', url: target, method: form.method, params: form.method === 'GET' ? target.searchParams : new URLSearchParams(form.fields) };
      page = await this.browser.request(target.href, form.method === 'POST' ? { form: form.fields } : {});
    }
    throw new Error(`more than 20 redirects from ${url}`);
  }

  /** Sends an authorization request (a GET, or a POST of its parameters) and signs in if the OP asks. */
  async authorize(
    rp: RelyingParty,
    request: AuthorizationRequest,
    options: { method?: 'GET' | 'POST'; order?: 'alphabetical' | 'reversed' } = {},
  ): Promise<{ arrival: Arrival; loginShown: boolean }> {
    return options.method === 'POST'
      ? this.visit(rp.endpoint('authorization_endpoint'), { ...request.params })
      : this.visit(rp.authorizationUrl(request, options.order));
  }

  /** Opens `url` as `open` does, and signs in if the OP shows its login page. */
  async visit(url: string, form?: Record<string, string>): Promise<{ arrival: Arrival; loginShown: boolean }> {
    const arrival = await this.open(url, form);
    if (!UserAgent.isLoginPage(arrival)) return { arrival, loginShown: false };
    return { arrival: await this.signIn(arrival.page), loginShown: true };
  }

  /** The OP's login page (an email field on a hosted interaction page). */
  static isLoginPage(arrival: Arrival): arrival is { at: 'op'; page: Page } {
    return arrival.at === 'op' && arrival.page.status === 200 && /\/interaction\//.test(arrival.page.url) && /name="email"/.test(arrival.page.body);
  }

  /** From the login page: the address, the link from the mail, the confirmation; then on as far as the OP sends the browser. */
  async signIn(loginPage: Page): Promise<Arrival> {
    const { link } = await this.#h.requestLink(this.browser, loginPage, this.email);
    const confirm = await this.browser.request(link);
    const form = formOn(confirm, '/link');
    return this.open(new URL(form.action, confirm.url).href, form.fields);
  }

  /** A sign-out confirmation page (RP-Initiated Logout §3): the form that ends the session. */
  static signOutForm(arrival: Arrival) {
    if (arrival.at !== 'op') return undefined;
    return formsOn(arrival.page).find((f) => /\/session\/end\/confirm$/.test(new URL(f.action, arrival.page.url).pathname));
  }

  /** Answers "yes, sign me out" on a sign-out confirmation page. */
  async confirmSignOut(arrival: Arrival): Promise<Arrival> {
    const form = UserAgent.signOutForm(arrival);
    if (!form || arrival.at !== 'op') throw new Error('no sign-out confirmation to answer');
    return this.open(new URL(form.action, arrival.page.url).href, { ...form.fields, logout: 'yes' });
  }
}
