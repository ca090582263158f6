// One Postern server per variant (in this process, Redis not needed), its main app and
// relying party, the client's own endpoints, and the people using it. Browsers kept
// under a name carry their session from module to module, as the official suite's
// browser does unless a module asks for fresh cookies.
import { Harness, type AppJson } from '../../helpers/harness.ts';
import { ClientEndpoints } from './client-endpoints.ts';
import { RelyingParty } from './relying-party.ts';
import { UserAgent } from './user-agent.ts';
import { CLIENT, RUN_LIMITS, type Variant } from './variants.ts';

export class OpUnderTest {
  readonly h = new Harness();
  readonly client = new ClientEndpoints();
  /** Why the server or the main app could not be set up; every module of the variant fails with it. */
  setupError: Error | undefined;
  #rp: RelyingParty | undefined;
  readonly #sessions = new Map<string, UserAgent>();
  #people = 0;

  readonly variant: Variant;

  constructor(variant: Variant) {
    this.variant = variant;
  }

  /** Never throws: a variant that cannot be set up fails each of its modules by name. */
  async start(): Promise<void> {
    try {
      await this.h.start();
      await this.client.start();
      this.#rp = await this.relyingParty();
      // Signed in now, these sessions are seconds old when prompt=login and max_age=1 reuse
      // them: the engine takes auth_time and max_age from the real clock, which the
      // Harness clock does not move, so only time makes a sign-in older.
      for (const name of ['shared', 'aged']) await this.session(name).authorize(this.#rp, await this.#rp.request('default'));
    } catch (err) {
      this.setupError = err instanceof Error ? err : new Error(String(err));
    }
  }

  async stop(): Promise<void> {
    await this.client.stop();
    await this.h.stop();
  }

  /** The relying party of the variant's main app. */
  get rp(): RelyingParty {
    if (!this.#rp) throw this.setupError ?? new Error('not started');
    return this.#rp;
  }

  /**
   * A new app of this variant (two redirect URIs, a post-logout URI, limits for a whole
   * run), with `fields` added, and its relying party.
   */
  async relyingParty(fields: Record<string, unknown> = {}, label = 'main'): Promise<RelyingParty> {
    const res = await this.h.admin('POST', '/admin/apps', {
      name: `${this.variant.name} ${label}`,
      redirect_uris: [CLIENT.redirectUri, CLIENT.secondRedirectUri],
      post_logout_redirect_uris: [CLIENT.postLogoutRedirectUri],
      ...RUN_LIMITS,
      ...this.variant.fields,
      ...fields,
    });
    if (res.status !== 201) {
      // The first sentence is enough to tell one refusal from another in the table.
      const why = String(res.body?.error_description ?? '').split('. ')[0];
      throw new Error(`the admin API refused the ${label} app: ${res.status} ${res.body?.error}: ${why}`);
    }
    return RelyingParty.of(res.body as AppJson, this.variant.alg);
  }

  /** Someone new, with a browser of their own and no session. */
  person(): UserAgent {
    this.#people += 1;
    return new UserAgent(this.h, `person${this.#people}@example.com`);
  }

  /** The browser kept under `name`: signed in by the first module that uses it, reused after. */
  session(name = 'shared'): UserAgent {
    let user = this.#sessions.get(name);
    if (!user) {
      user = this.person();
      this.#sessions.set(name, user);
    }
    return user;
  }
}
