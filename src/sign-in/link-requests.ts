// A request for a sign-in link, from the email form or "send me a new link". Rate limits
// (per address, per client IP, per app) are checked before anything is stored or sent.
// Whatever happens — sent, limited, mail server down — the caller shows the same page:
// the response says nothing about the address, and the mail leaves through the queue, off
// the request path, so timing says nothing either.
import { settingsOf } from '../apps/app-settings.ts';
import type { AuditLog, RequestInfo } from '../audit.ts';
import type { MailQueue } from '../mail/mail-queue.ts';
import { signInMail } from '../mail/sign-in-mail.ts';
import type { AppRecord, RateLimiter } from '../storage/ports.ts';
import { formatShortCode, type MagicLinks } from './magic-links.ts';

export interface LinkRequestInput {
  readonly app: AppRecord;
  readonly issuer: string;
  /** The login attempt (oidc-provider interaction) the link signs in. */
  readonly uid: string;
  readonly clientId: string;
  readonly email: string;
  readonly client: RequestInfo;
}

export const ADDRESS_WINDOW = 15 * 60;
export const IP_WINDOW = 15 * 60;
export const APP_WINDOW = 60 * 60;

type Limiters = (name: string, points: number, durationSeconds: number) => RateLimiter;

export class LinkRequests {
  readonly #links: MagicLinks;
  readonly #mail: MailQueue;
  readonly #audit: AuditLog;
  readonly #limiter: Limiters;

  constructor(deps: { links: MagicLinks; mail: MailQueue; audit: AuditLog; limiter: Limiters }) {
    this.#links = deps.links;
    this.#mail = deps.mail;
    this.#audit = deps.audit;
    this.#limiter = deps.limiter;
  }

  /** Issues and queues a link unless a limit says no; returns what happened (for tests and audit). */
  async request(input: LinkRequestInput): Promise<'queued' | 'rate_limited'> {
    const { app, email, client } = input;
    const settings = settingsOf(app.settings);
    const context = { appId: app.id, clientId: input.clientId, email, ...client };

    // Every limit counts this request, so a flood from one IP also spends the address budget.
    const verdicts = await Promise.all([
      this.#limiter('link-address', settings.max_links_per_address, ADDRESS_WINDOW).hit(`${app.id}:${email}`),
      this.#limiter('link-ip', settings.max_links_per_ip, IP_WINDOW).hit(`${app.id}:${client.ip}`),
      this.#limiter('link-app', settings.max_links_per_app, APP_WINDOW).hit(app.id),
    ]);
    const limited = ['address', 'ip', 'app'].filter((_, i) => !verdicts[i]);
    if (limited.length) {
      this.#audit.record({ type: 'link.rate_limited', outcome: 'failure', reason: `limit per ${limited.join(', ')}`, ...context });
      return 'rate_limited';
    }

    const ttl = settings.magic_link_ttl;
    const { code, shortCode, expiresAt } = await this.#links.issue({
      appId: app.id,
      interactionUid: input.uid,
      email,
      clientId: input.clientId,
      ttl,
    });
    this.#audit.record({ type: 'link.requested', outcome: 'success', ...context });
    const link = `${input.issuer}/interaction/${input.uid}/link?code=${code}`;
    await this.#mail.enqueue(
      signInMail({ to: email, appName: app.name, link, shortCode: formatShortCode(shortCode), ttlSeconds: ttl, expiresAt }),
      context,
    );
    return 'queued';
  }
}
