// The steps of a sign-in after the person has an attempt (an oidc-provider interaction)
// open in some browser: ask for a link, type the short code, open the link, confirm it.
// Each step applies its limits, records the account at its first verified sign-in and
// writes the audit trail; the hosted pages (interactions/) only translate the outcome
// into a page. Nothing here knows about HTTP or the engine.
import { settingsOf } from '../apps/app-settings.ts';
import type { AuditLog, RequestInfo } from '../audit.ts';
import type { Clock } from '../clock.ts';
import { ipLimitKey } from '../ip-network.ts';
import type { Language } from '../text/language.ts';
import type { AccountStore, AppRecord, RateLimiter } from '../storage/ports.ts';
import type { LinkRequests } from './link-requests.ts';
import { formatShortCode, normalizeShortCode, shortCodeOf, type MagicLinks } from './magic-links.ts';

/** One login attempt of one app, as the browser that holds it sees it. */
export interface Attempt {
  readonly app: AppRecord;
  readonly issuer: string;
  readonly uid: string;
  readonly clientId: string;
  /** The person's language: the mail is written in it and its link keeps it. */
  readonly language: Language;
  /** How long the attempt has left (ms) when this request read it: no link of it may outlive it. */
  readonly timeLeft: number;
}

/** Why a link or code cannot sign the person in. */
export type LinkProblem = 'expired' | 'used' | 'unknown' | 'superseded' | 'locked' | 'other_browser';

export type CodeOutcome =
  | { readonly kind: 'accepted'; readonly email: string }
  /** The attempt has no link yet (the person never asked for one here). */
  | { readonly kind: 'no_link' }
  | { readonly kind: 'rate_limited'; readonly email: string; readonly ttl: number }
  | { readonly kind: 'wrong'; readonly email: string; readonly ttl: number; readonly attemptsLeft: number }
  /** What was typed cannot be a code (empty, the wrong length, a pasted link): no attempt is counted. */
  | { readonly kind: 'malformed'; readonly email: string; readonly ttl: number }
  | { readonly kind: 'problem'; readonly problem: LinkProblem };

/** `shortCode` tells another browser how to continue where the sign-in started. */
export type LinkRefused = { readonly kind: 'problem'; readonly problem: LinkProblem; readonly shortCode?: string };

export type OpenedLink =
  /** The link is valid and this browser holds its attempt: ask the person to confirm. */
  | { readonly kind: 'confirm' }
  | LinkRefused;

export type ConfirmedLink = { readonly kind: 'accepted'; readonly email: string } | { readonly kind: 'csrf' } | LinkRefused;

export interface SignInDeps {
  readonly links: MagicLinks;
  readonly linkRequests: LinkRequests;
  readonly accounts: AccountStore;
  readonly audit: AuditLog;
  readonly clock: Clock;
  /** Wrong short codes per client IP (IPv4 address, IPv6 /64), across attempts. */
  readonly wrongCodesPerIp: RateLimiter;
}

/** How long after a link is sent the form posted again for its address sends nothing more. */
export const REPEAT_WINDOW_SECONDS = 60;

/**
 * How long a link asked for now lives (seconds): the app's magic_link_ttl, but never past
 * the end of the login attempt it signs in, which would leave a link that works for less
 * time than its mail says. Cut to whole minutes then, as the page and the mail state it;
 * 0 when less than a minute of the attempt is left.
 */
export function linkLifetime(configured: number, attemptTimeLeft: number): number {
  const left = Math.floor(attemptTimeLeft / 60_000) * 60;
  return Math.max(0, Math.min(configured, left));
}

export class SignIn {
  readonly #deps: SignInDeps;
  /** Link requests of this process under way, by app, attempt and address: a post made meanwhile waits for its answer. */
  readonly #underWay = new Map<string, Promise<number | undefined>>();
  constructor(deps: SignInDeps) {
    this.#deps = deps;
  }

  /**
   * Sends a link to `email` unless a limit says no, and tells how long it lives (seconds):
   * the caller shows the same page either way. Undefined, and nothing sent, when less than a
   * minute of the attempt is left.
   *
   * The same form posted again while its first post is still being answered here (a double
   * click reaches the server before the first link is stored, with Redis or MongoDB) waits
   * for that answer and is a repeat of it: the stored link alone cannot tell it apart yet.
   */
  async requestLink(attempt: Attempt, email: string, client: RequestInfo): Promise<number | undefined> {
    const key = `${attempt.app.id} ${attempt.uid} ${email}`;
    const earlier = this.#underWay.get(key);
    if (earlier) {
      // A failed first post (503) is no reason to send nothing: this one tries on its own.
      const ttl = await earlier.catch(() => undefined);
      if (ttl !== undefined) return this.#repeated(attempt, email, client, ttl);
    }
    const answer = this.#requestLink(attempt, email, client);
    this.#underWay.set(key, answer);
    try {
      return await answer;
    } finally {
      if (this.#underWay.get(key) === answer) this.#underWay.delete(key);
    }
  }

  async #requestLink(attempt: Attempt, email: string, client: RequestInfo): Promise<number | undefined> {
    return (await this.#justSent(attempt, email, client)) ?? this.#send(attempt, email, client);
  }

  /**
   * "Send me a new link": to the address of the attempt's latest link, and how long the new
   * one lives (as requestLink); undefined when there is no earlier link. Always a new link:
   * the person asked for one.
   */
  async resendLink(attempt: Attempt, client: RequestInfo): Promise<{ email: string; ttl: number | undefined } | undefined> {
    const email = await this.emailOf(attempt.app.id, attempt.uid);
    return email === undefined ? undefined : { email, ttl: await this.#send(attempt, email, client) };
  }

  async #send(attempt: Attempt, email: string, client: RequestInfo): Promise<number | undefined> {
    const ttl = linkLifetime(settingsOf(attempt.app.settings).magic_link_ttl, attempt.timeLeft);
    if (ttl === 0) return undefined;
    await this.#deps.linkRequests.request({ ...attempt, email, client, ttl });
    return ttl;
  }

  /**
   * The form posted again for the address the attempt's link went to moments ago (a double
   * click, a reload, Back and submit): that link's lifetime, and nothing is sent. Another mail
   * would silently supersede the first, which the person may be opening, and spend the
   * address's limits. Undefined (send) for another address, an older or a touched link.
   * Posts in flight together on one instance are told apart by requestLink; two reaching
   * two instances within the same few milliseconds may both send. And a post whose link
   * was stored but whose mail the outbox refused (503) counts as sent, since a timed-out
   * outbox write may still have landed: its page's "send me a new link" sends for certain.
   */
  async #justSent(attempt: Attempt, email: string, client: RequestInfo): Promise<number | undefined> {
    const latest = await this.#deps.links.latest(attempt.app.id, attempt.uid);
    if (!latest || latest.email !== email || latest.usedAt !== undefined || (latest.attempts ?? 0) > 0) return undefined;
    const now = Math.floor(this.#deps.clock.now() / 1000);
    if (now - latest.createdAt >= REPEAT_WINDOW_SECONDS || now >= latest.expiresAt) return undefined;
    return this.#repeated(attempt, email, client, latest.expiresAt - latest.createdAt);
  }

  #repeated(attempt: Attempt, email: string, client: RequestInfo, ttl: number): number {
    this.#deps.audit.record({ type: 'link.repeated', outcome: 'success', appId: attempt.app.id, clientId: attempt.clientId, email, ...client });
    return ttl;
  }

  /** The address the attempt's latest link went to. */
  async emailOf(appId: string, uid: string): Promise<string | undefined> {
    return (await this.#deps.links.latest(appId, uid))?.email;
  }

  async typeCode(attempt: Attempt, typed: unknown, client: RequestInfo): Promise<CodeOutcome> {
    const { links, audit } = this.#deps;
    const appId = attempt.app.id;
    const latest = await links.latest(appId, attempt.uid);
    if (!latest) return { kind: 'no_link' };
    const { email } = latest;
    const ttl = latest.expiresAt - latest.createdAt;
    const context = { appId, email, ...client };
    // Nothing that cannot match is counted against the link's attempts or the network's:
    // a slip of the keyboard must not lock the right code out.
    if (normalizeShortCode(typed) === undefined) {
      audit.record({ type: 'code.rejected', outcome: 'failure', reason: 'malformed', ...context });
      return { kind: 'malformed', email, ttl };
    }
    // Counted before the comparison, so a burst from one network gets no more comparisons
    // than the limit; a right code is then taken back: the limit is on wrong ones, and a
    // busy office behind one address must not lock out its next person's right code.
    const network = ipLimitKey(client.ip);
    if (!(await this.#deps.wrongCodesPerIp.hit(network))) {
      audit.record({ type: 'code.rejected', outcome: 'failure', reason: 'rate limited', ...context });
      return { kind: 'rate_limited', email, ttl };
    }
    const result = await links.checkShortCode(latest, typed);
    if (result.status === 'valid') {
      const refunded = this.#deps.wrongCodesPerIp.refund(network).catch(() => {}); // a failed refund costs a point, not the sign-in
      await this.#signedIn(appId, result.record.email);
      await refunded;
      audit.record({ type: 'code.accepted', outcome: 'success', clientId: result.record.clientId, ...context, email: result.record.email });
      return { kind: 'accepted', email: result.record.email };
    }
    // "wrong": compared and did not match (the last such attempt locks the link); "locked":
    // refused without comparing.
    audit.record({ type: 'code.rejected', outcome: 'failure', reason: result.status, ...context });
    if (result.status !== 'wrong') return { kind: 'problem', problem: result.status };
    if (result.attemptsLeft === 0) return { kind: 'problem', problem: 'locked' };
    return { kind: 'wrong', email, ttl, attemptsLeft: result.attemptsLeft };
  }

  /**
   * GET of the link from the mail: looks, never changes anything (mail scanners open
   * links). `here` says whether this browser holds the attempt the link belongs to: the
   * link is looked up while the caller finds that out, since both are reads and neither
   * decides whether the other is made (one store round trip instead of two in a row).
   */
  async openLink(appId: string, uid: string, code: unknown, here: Promise<boolean>, client: RequestInfo): Promise<OpenedLink> {
    const [found, held] = await Promise.all([this.#deps.links.inspect(appId, uid, typeof code === 'string' ? code : ''), here]);
    this.#deps.audit.record({
      type: 'link.opened',
      outcome: found.status === 'valid' ? 'success' : 'failure',
      reason: found.status,
      appId,
      clientId: found.record?.clientId,
      email: found.record?.email,
      ...client,
    });
    if (found.status !== 'valid') return { kind: 'problem', problem: found.status };
    if (!held) return { kind: 'problem', problem: 'other_browser', shortCode: formatShortCode(shortCodeOf(String(code))) };
    return { kind: 'confirm' };
  }

  /**
   * POST of the confirmation page: uses the link up, once, in the browser that started the
   * sign-in. Another browser learns how to continue, and cannot use the link up.
   */
  async confirmLink(appId: string, uid: string, code: unknown, here: boolean, csrfValid: boolean, client: RequestInfo): Promise<ConfirmedLink> {
    const reject = (reason: LinkProblem | 'csrf'): ConfirmedLink => {
      this.#deps.audit.record({ type: 'link.rejected', outcome: 'failure', reason, appId, ...client });
      if (reason === 'csrf') return { kind: 'csrf' };
      return reason === 'other_browser'
        ? { kind: 'problem', problem: reason, shortCode: formatShortCode(shortCodeOf(String(code))) }
        : { kind: 'problem', problem: reason };
    };
    const { links } = this.#deps;
    const text = typeof code === 'string' ? code : '';
    // Only the browser holding the attempt, with its form's token, may use the link up: the
    // look-up and the use are then one store operation. Otherwise the link's own problem,
    // if it has one, comes first.
    const used = here && csrfValid ? await links.confirm(appId, uid, text) : await links.inspect(appId, uid, text);
    if (used.status !== 'valid') return reject(used.status);
    if (!here) return reject('other_browser');
    if (!csrfValid) return reject('csrf');
    const { email, clientId } = used.record!;
    await this.#signedIn(appId, email);
    this.#deps.audit.record({ type: 'link.accepted', outcome: 'success', appId, clientId: clientId, email, ...client });
    return { kind: 'accepted', email };
  }

  /** A hosted form came back without a valid CSRF token. */
  formRejected(appId: string, purpose: string, client: RequestInfo): void {
    this.#deps.audit.record({ type: 'form.rejected', outcome: 'failure', reason: `csrf (${purpose})`, appId, ...client });
  }

  /** An account exists from its owner's first verified sign-in on. */
  async #signedIn(appId: string, email: string): Promise<void> {
    await this.#deps.accounts.recordLogin(appId, email, this.#deps.clock.now());
  }
}
