// What a further client shows of itself on the hosted pages and in the sign-in mail
// (clientDisplayOf): records as stored, including ones written before display links were
// held to a registration's hosts, so the display rule does not depend on the write rule.
import { expect } from 'chai';
import { clientDisplayOf } from '../../src/apps/clients.ts';
import type { AppRecord, ClientRecord } from '../../src/storage/ports.ts';

const DISPLAY = {
  client_name: 'Acme Security Team',
  logo_uri: 'https://evil.example/pixel.png',
  client_uri: 'https://app.example.com/home',
  policy_uri: 'https://APP.example.com/privacy',
  tos_uri: 'https://app.example.com.evil.example/tos',
};

function appWith(client: Partial<ClientRecord>): AppRecord {
  const record: ClientRecord = { clientId: 'c1', metadata: DISPLAY, origin: 'admin', createdAt: 0, updatedAt: 0, ...client };
  return { id: 'app', name: 'Acme Shop', clients: [record] } as unknown as AppRecord;
}

describe('a client shown on the hosted pages and in the mail', () => {
  it('an admin-made client without a host policy shows all it registered', () => {
    expect(clientDisplayOf(appWith({}), 'c1')).to.deep.equal(DISPLAY);
  });

  it("an openly registered client never shows its name, and links only on its policy's hosts", () => {
    const shown = clientDisplayOf(appWith({ origin: 'open_registration', redirectUriHosts: ['app.example.com'] }), 'c1');
    expect(shown).to.deep.equal({ client_name: undefined, logo_uri: undefined, client_uri: DISPLAY.client_uri, policy_uri: DISPLAY.policy_uri, tos_uri: undefined });
  });

  it("a client registered with a token under a host policy keeps its name, links only on the policy's hosts", () => {
    const shown = clientDisplayOf(appWith({ origin: 'registration', redirectUriHosts: ['app.example.com'] }), 'c1');
    expect(shown).to.include({ client_name: DISPLAY.client_name, client_uri: DISPLAY.client_uri, logo_uri: undefined, tos_uri: undefined });
  });

  it('the default client, an unknown id or a non-string id shows nothing of its own', () => {
    for (const id of ['app', 'nope', undefined, ['c1']]) expect(clientDisplayOf(appWith({}), id)).to.deep.equal({});
  });
});
