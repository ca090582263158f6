// A request for a sign-in link, from the email form or "send me a new link". Rate limits
// are checked before anything is stored or sent: per mailbox in the app and across apps,
// per client IP and per client network, and last the app-wide budget (one group of hits).
// Whatever happens — sent, limited, mail server down — the caller shows the same page: the
// response says nothing about the address, and the mail leaves through the queue, off the
// request path, so timing says nothing either.
import { canonicalMailbox } from '../accounts/email-address.ts';
import { settingsOf } from '../apps/app-settings.ts';
import { keyedHash } from '../keys/encryption.ts';
import type { AuditLog, RequestInfo } from '../audit.ts';
import { ipLimitKey, networkLimitKey } from '../ip-network.ts';
import type { Logger } from '../log.ts';
import type { MailQueue } from '../mail/mail-queue.ts';
import { signInMail } from '../mail/sign-in-mail.ts';
import { brandingFor } from '../apps/branding.ts';
import { clientDisplayOf } from '../apps/clients.ts';
import type { Language } from '../text/language.ts';
import { LimitGroup, type AppRecord, type RateLimiter } from '../storage/ports.ts';
import { formatShortCode, type MagicLinks } from './magic-links.ts';

export interface LinkRequestInput {
  readonly app: AppRecord;
  readonly issuer: string;
  /** The login attempt (oidc-provider interaction) the link signs in. */
  readonly uid: string;
  readonly clientId: string;
  /** The person's language: the mail's, and the link's landing page's. */
  readonly language: Language;
  readonly email: string;
  readonly client: RequestInfo;
  /** How long the link lives, in seconds (sign-in.ts, linkLifetime). */
  readonly ttl: number;
}

export const ADDRESS_WINDOW = 15 * 60;
export const MAILBOX_WINDOW = 60 * 60;
export const IP_WINDOW = 15 * 60;
export const NETWORK_WINDOW = 60 * 60;
export const APP_WINDOW = 60 * 60;

type Limiters = (name: string, points: number, durationSeconds: number) => RateLimiter;

export interface LinkRequestDeps {
  readonly links: MagicLinks;
  readonly mail: MailQueue;
  readonly audit: AuditLog;
  readonly logger: Logger;
  readonly limiter: Limiters;
  /** Links one mailbox can be sent per hour, across all apps. */
  readonly maxLinksPerMailbox: number;
  /** Keys the hash that stands for a mailbox in limiter keys (the same on every instance). */
  readonly limitKeySecret: Buffer;
}

export class LinkRequests {
  readonly #deps: LinkRequestDeps;

  constructor(deps: LinkRequestDeps) {
    this.#deps = deps;
  }

  /** Issues and queues a link unless a limit says no; returns what happened (for tests and audit). */
  async request(input: LinkRequestInput): Promise<'queued' | 'rate_limited'> {
    const { app, email, client } = input;
    const settings = settingsOf(app.settings);
    const context = { appId: app.id, clientId: input.clientId, email, ...client };
    const limiter = this.#deps.limiter;
    const mailbox = this.#mailboxKey(email);

    // Every narrow limit counts this request, so a flood from one network also spends the
    // budgets of the addresses it names.
    const group = new LimitGroup();
    const narrow = {
      address: limiter('link-address', settings.max_links_per_address, ADDRESS_WINDOW).hit(`${app.id}:${mailbox}`, { group }),
      mailbox: limiter('link-mailbox', this.#deps.maxLinksPerMailbox, MAILBOX_WINDOW).hit(mailbox, { group }),
      ip: limiter('link-ip', settings.max_links_per_ip, IP_WINDOW).hit(`${app.id}:${ipLimitKey(client.ip)}`, { group }),
      network: limiter('link-network', settings.max_links_per_network, NETWORK_WINDOW).hit(`${app.id}:${networkLimitKey(client.ip)}`, { group }),
    };
    // The app-wide budget counts only what every narrower limit let through, so no single
    // network can spend it: it is the safety net against attacks from many networks. As the
    // group's last hit it is asked for now (on Redis, in the same call) and counts only then.
    const appWide = limiter('link-app', settings.max_links_per_app, APP_WINDOW).hit(app.id, { group, last: true });
    const [appWithin, ...verdicts] = await Promise.all([appWide, ...Object.values(narrow)]);
    const limited = Object.keys(narrow).filter((_, i) => !verdicts[i]);
    if (!limited.length && !appWithin) {
      limited.push('app');
      await this.#appBudgetSpent(app.id, settings.max_links_per_app);
    }
    if (limited.length) {
      this.#deps.audit.record({ type: 'link.rate_limited', outcome: 'failure', reason: `limit per ${limited.join(', ')}`, ...context });
      return 'rate_limited';
    }

    const { ttl } = input;
    const { code, shortCode } = await this.#deps.links.issue({
      appId: app.id,
      interactionUid: input.uid,
      email,
      clientId: input.clientId,
      ttl,
    });
    this.#deps.audit.record({ type: 'link.requested', outcome: 'success', ...context });
    // The language rides along, so the page the link opens speaks it on any device.
    const link = `${input.issuer}/interaction/${input.uid}/link?code=${code}&lang=${input.language}`;
    await this.#deps.mail.enqueue(
      signInMail({ to: email, brand: brandingFor(app, clientDisplayOf(app, input.clientId)), language: input.language, link, shortCode: formatShortCode(shortCode), ttlSeconds: ttl }),
      context,
    );
    return 'queued';
  }

  /**
   * Real users get no links until the hour is over: the operator must hear of it, once
   * per hour (a flood refused request by request would otherwise bury the log).
   */
  async #appBudgetSpent(appId: string, max: number): Promise<void> {
    if (!(await this.#deps.limiter('link-app-alarm', 1, APP_WINDOW).hit(appId))) return;
    const reason = `app-wide limit of ${max} links per hour reached`;
    this.#deps.audit.record({ type: 'link.app_limit_reached', outcome: 'failure', appId, reason });
    this.#deps.logger.warn('sign-in links refused for the whole app: its hourly budget is spent', { app_id: appId, max_links_per_app: max });
  }

  /**
   * A mailbox in limiter keys: a keyed hash of its canonical form, so every spelling shares
   * one budget and the store holds no address (personal data) in clear.
   */
  #mailboxKey(email: string): string {
    return keyedHash(this.#deps.limitKeySecret, canonicalMailbox(email)).slice(0, 32);
  }
}
