// canonicalMailbox: the inbox an address reaches, for limits only. Every spelling an
// attacker could use to get a fresh budget for one inbox must fold to one key, and
// different inboxes must stay apart.
import { expect } from 'chai';
import fc from 'fast-check';
import { canonicalMailbox, normalizeEmail } from '../../src/accounts/email-address.ts';

function sameMailbox(addresses: string[]): string {
  const keys = addresses.map(canonicalMailbox);
  for (const [i, k] of keys.entries()) expect(k, addresses[i]).to.equal(keys[0]);
  return keys[0]!;
}

describe('canonicalMailbox', () => {
  it('folds case and a +tag, for every domain', () => {
    expect(sameMailbox(['victim@example.com', 'Victim@Example.COM', 'victim+1@example.com', 'victim+a+b@example.com', 'VICTIM+x@example.com'])).to.equal(
      'victim@example.com',
    );
    // Dots matter outside Gmail: they are different mailboxes.
    expect(canonicalMailbox('v.ictim@example.com')).to.equal('v.ictim@example.com');
  });

  it('folds Gmail dots and googlemail.com into one gmail.com mailbox', () => {
    expect(
      sameMailbox(['victim@gmail.com', 'v.ictim@gmail.com', 'v.i.c.t.i.m@gmail.com', 'victim@googlemail.com', 'V.Ictim+spam@GoogleMail.com']),
    ).to.equal('victim@gmail.com');
    expect(canonicalMailbox('victim@gmail.co')).to.equal('victim@gmail.co');
    expect(canonicalMailbox('victim@notgmail.com')).to.equal('victim@notgmail.com');
  });

  it('takes a domain in its ASCII (punycode) form, whichever form it comes in', () => {
    expect(sameMailbox(['ada@xn--bcher-kva.example', 'ada@bücher.example', 'ada@BÜCHER.example', 'ada+x@XN--BCHER-KVA.example'])).to.equal(
      'ada@xn--bcher-kva.example',
    );
  });

  it('keeps a leading "+" (it is the whole name, not a tag)', () => {
    expect(canonicalMailbox('+1@example.com')).to.equal('+1@example.com');
    expect(canonicalMailbox('+1@example.com')).to.not.equal(canonicalMailbox('+2@example.com'));
  });

  it('keeps different mailboxes apart', () => {
    const distinct = ['ada@example.com', 'ada@example.org', 'grace@example.com', 'ada@mail.example.com', 'ada-x@example.com'];
    expect(new Set(distinct.map(canonicalMailbox)).size).to.equal(distinct.length);
  });

  it('is idempotent on every address normalizeEmail accepts', () => {
    const local = fc.stringMatching(/^[a-z0-9.+_-]{1,20}$/).filter((l) => !l.startsWith('.') && !l.endsWith('.') && !l.includes('..'));
    const domain = fc.constantFrom('example.com', 'gmail.com', 'googlemail.com', 'xn--bcher-kva.example');
    fc.assert(
      fc.property(local, domain, (l, d) => {
        const checked = normalizeEmail(`${l}@${d}`);
        if (!checked.ok) return;
        const once = canonicalMailbox(checked.email);
        expect(canonicalMailbox(once)).to.equal(once);
      }),
    );
  });
});
