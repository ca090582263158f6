// An app's back end as back-channel logout meets it: a real HTTP server on a free loopback
// port that records every request to it and answers as the test scripts it (a status, a
// redirect, or never), and the checks an app makes of a logout token (Back-Channel Logout
// 1.0 §2.6), done with jose against the issuer's published JWKS.
import { expect } from 'chai';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify, type JWTPayload } from 'jose';

export const LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';

export interface Received {
  readonly method: string;
  readonly path: string;
  readonly contentType: string | undefined;
  readonly body: string;
  /** The `logout_token` of the form, if any. */
  readonly token: string | undefined;
}

/** How to answer one request: a status, a redirect (302 to the URL), or never. */
export type Answer = number | 'hang' | { redirect: string };

export class LogoutReceiver {
  readonly received: Received[] = [];
  /** Answers for the next requests, in order; once used up, 200. */
  readonly script: Answer[] = [];
  /** Requests being held without an answer ('hang'). */
  readonly hanging: ServerResponse[] = [];
  url = '';
  #server: Server | undefined;

  async start(path = '/backchannel-logout'): Promise<this> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const token = new URLSearchParams(body).get('logout_token') ?? undefined;
        this.received.push({ method: req.method ?? '', path: req.url ?? '', contentType: req.headers['content-type'], body, token });
        const answer = this.script.shift() ?? 200;
        if (answer === 'hang') this.hanging.push(res);
        else if (typeof answer === 'object') res.writeHead(302, { location: answer.redirect }).end();
        else res.writeHead(answer, { 'content-type': 'text/plain' }).end(`body-of-${answer}-never-logged`);
      });
    });
    this.#server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`;
    return this;
  }

  /** Answers every request held so far with `status`. */
  release(status = 200): void {
    for (const res of this.hanging.splice(0)) res.writeHead(status).end();
  }

  async stop(): Promise<void> {
    for (const res of this.hanging.splice(0)) res.destroy();
    this.#server?.closeAllConnections();
    await new Promise((resolve) => this.#server?.close(resolve));
  }

  /** The logout tokens received so far, in order. */
  get tokens(): string[] {
    return this.received.flatMap((r) => (r.token ? [r.token] : []));
  }

  /** Waits (polling, at most `ms`) until `done()` holds. */
  async until(label: string, done: () => boolean, ms = 15_000): Promise<void> {
    for (const deadline = Date.now() + ms; !done(); await new Promise((r) => setTimeout(r, 10))) {
      if (Date.now() > deadline) throw new Error(`${label}: not within ${ms} ms (received ${this.received.length})`);
    }
  }
}

export interface IssuerOf {
  readonly issuer: string;
  readonly client_id: string;
}

/**
 * What an app checks of a logout token (§2.6), each check its own assertion: signed by a
 * key of the issuer's JWKS with the expected algorithm, `typ` logout+jwt, issuer,
 * audience, iat/exp (short-lived), jti, the logout event and nothing else there, sub, no
 * nonce. `nowMs`: the server's time, where a test moved it. Returns the claims.
 */
export async function verifyLogoutToken(token: string, app: IssuerOf, options: { alg?: string; nowMs?: number } = {}): Promise<JWTPayload & { sid?: string }> {
  const alg = options.alg ?? 'ES512';
  const nowMs = options.nowMs ?? Date.now();
  const header = decodeProtectedHeader(token);
  expect(header.typ, 'typ').to.equal('logout+jwt');
  expect(header.alg, 'alg').to.equal(alg);
  expect(header.kid, 'kid').to.be.a('string');
  const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(`${app.issuer}/jwks`)), {
    issuer: app.issuer,
    audience: app.client_id,
    typ: 'logout+jwt',
    algorithms: [alg],
    requiredClaims: ['iat', 'exp', 'jti', 'sub'],
    currentDate: new Date(nowMs),
  });
  expect(payload.aud, 'aud: the client only').to.equal(app.client_id);
  expect(payload.events, 'events').to.deep.equal({ [LOGOUT_EVENT]: {} });
  expect(payload, 'nonce').not.to.have.property('nonce');
  const now = Math.floor(nowMs / 1000);
  expect(payload.iat!, 'iat').to.be.within(now - 60, now + 5);
  expect(payload.exp! - payload.iat!, 'a short lifetime').to.be.within(1, 300);
  return payload as JWTPayload & { sid?: string };
}
