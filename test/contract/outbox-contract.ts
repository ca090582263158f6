// The outbox contract, for every driver and each of its outboxes (sign-in mail, back-channel
// logout): claims are atomic and leased, a lease that runs out hands the message to the
// next claimer, only the holder of a claim reschedules, the outboxes never mix; and,
// as the mail queue uses it, a queued sign-in mail is sealed in the store and gone once
// sent. Times are passed in (`now`), so nothing here waits for a clock.
import { expect } from 'chai';
import { randomBytes, randomUUID } from 'node:crypto';
import type { MailQueue } from '../../src/mail/mail-queue.ts';
import { signInMail } from '../../src/mail/sign-in-mail.ts';
import type { Stores } from '../../src/storage/ports.ts';
import { SmtpCapture, linkIn } from '../helpers/smtp-capture.ts';
import { testMailQueue } from '../helpers/mail-queue.ts';

const T = 1_700_000_000_000; // a fixed "now" (epoch ms)
const LEASE = 60_000;

export function outboxContract(name: string, open: () => Promise<Stores>, atRest: (stores: Stores) => Promise<string>): void {
  describe(`outbox contract: ${name}`, function () {
    this.timeout(20_000);
    let stores: Stores;

    before(async () => {
      stores = await open();
    });
    after(async () => {
      await stores?.close();
    });
    // An outbox is shared by every app: start each test with both empty.
    beforeEach(async () => {
      const all = Number.MAX_SAFE_INTEGER;
      for (const outbox of [stores.outbox, stores.logoutOutbox]) {
        for (const entry of (await outbox.claim(all, all, 10_000)).entries) await outbox.remove(entry.id);
      }
    });

    // Each kind of message has an outbox of its own; all behave alike.
    for (const [kind, pick] of [
      ['sign-in mail', (s: Stores) => s.outbox],
      ['back-channel logout', (s: Stores) => s.logoutOutbox],
    ] as const) {
      describe(`the ${kind} outbox`, () => {
        const outbox = () => pick(stores);

        it('hands out a due message once, leased: the next claim before the lease end gets nothing', async () => {
          const id = randomUUID();
          await outbox().add(id, 'sealed-1', T);
          expect((await outbox().claim(T - 1, T + LEASE, 10)).entries, 'not due yet').to.deep.equal([]);
          const [first, ...rest] = (await outbox().claim(T, T + LEASE, 10)).entries;
          expect(rest).to.deep.equal([]);
          expect(first).to.include({ id, sealed: 'sealed-1', attempts: 1 });
          expect(first!.claim).to.be.a('string');
          expect((await outbox().claim(T + LEASE - 1, T + 2 * LEASE, 10)).entries).to.deep.equal([]);
          expect(await outbox().nextDue()).to.equal(T + LEASE);
        });

        it('hands a message whose lease ran out (its claimer died) to the next claimer, counting the attempt; the old claim is void', async () => {
          const id = randomUUID();
          await outbox().add(id, 'sealed-2', T);
          const [dead] = (await outbox().claim(T, T + LEASE, 10)).entries;
          const [next] = (await outbox().claim(T + LEASE, T + 2 * LEASE, 10)).entries;
          expect(next).to.include({ id, sealed: 'sealed-2', attempts: 2 });
          expect(next!.claim).not.to.equal(dead!.claim);
          // The dead claimer coming back cannot move the message the live one holds.
          expect(await outbox().reschedule(id, dead!.claim, T)).to.equal(false);
          expect(await outbox().nextDue()).to.equal(T + 2 * LEASE);
          expect(await outbox().reschedule(id, next!.claim, T + 5_000)).to.equal(true);
          expect(await outbox().nextDue()).to.equal(T + 5_000);
          expect((await outbox().claim(T + 4_999, T + LEASE, 10)).entries).to.deep.equal([]);
          expect(((await outbox().claim(T + 5_000, T + LEASE, 10)).entries).map((e) => [e.id, e.attempts])).to.deep.equal([[id, 3]]);
        });

        it('stores a message added leased as claimed by its adder: nobody else gets it before the lease end, then the next claimer does', async () => {
          const id = randomUUID();
          await outbox().add(id, 'sealed-leased', T, { claim: 'adder', until: T + LEASE });
          expect(await outbox().size()).to.equal(1);
          expect(await outbox().nextDue()).to.equal(T + LEASE);
          expect((await outbox().claim(T + LEASE - 1, T + 2 * LEASE, 10)).entries, 'leased to its adder').to.deep.equal([]);
          // The adder died: the next claimer gets it as its second attempt; the adder's claim is void.
          const [next] = (await outbox().claim(T + LEASE, T + 2 * LEASE, 10)).entries;
          expect(next).to.include({ id, sealed: 'sealed-leased', attempts: 2 });
          expect(await outbox().reschedule(id, 'adder', T)).to.equal(false);
          // A live adder can put its message back, as a claimer can.
          const other = randomUUID();
          await outbox().add(other, 'sealed-other', T, { claim: 'live-adder', until: T + LEASE });
          expect(await outbox().reschedule(other, 'live-adder', T + 1_000)).to.equal(true);
          expect(((await outbox().claim(T + 1_000, T + LEASE, 10)).entries).map((e) => [e.id, e.attempts])).to.deep.equal([[other, 2]]);
        });

        it('a claim can reschedule once: after that it holds nothing', async () => {
          const id = randomUUID();
          await outbox().add(id, 'sealed-3', T);
          const [entry] = (await outbox().claim(T, T + LEASE, 10)).entries;
          expect(await outbox().reschedule(id, entry!.claim, T + 1)).to.equal(true);
          expect(await outbox().reschedule(id, entry!.claim, T + 2)).to.equal(false);
          expect(await outbox().reschedule(id, 'forged', T + 3)).to.equal(false);
          expect(await outbox().nextDue()).to.equal(T + 1);
        });

        it('counts the messages waiting, claimed ones included, until they are removed', async () => {
          expect(await outbox().size()).to.equal(0);
          const ids = [randomUUID(), randomUUID()];
          for (const id of ids) await outbox().add(id, 's', T);
          (await outbox().claim(T, T + LEASE, 1)).entries;
          expect(await outbox().size()).to.equal(2);
          await outbox().remove(ids[0]!);
          expect(await outbox().size()).to.equal(1);
        });

        it('claims earliest first, at most `limit`', async () => {
          const ids = [randomUUID(), randomUUID(), randomUUID()];
          await outbox().add(ids[2]!, 's', T + 2);
          await outbox().add(ids[0]!, 's', T);
          await outbox().add(ids[1]!, 's', T + 1);
          expect(((await outbox().claim(T + 10, T + LEASE, 2)).entries).map((e) => e.id)).to.deep.equal([ids[0], ids[1]]);
          expect(((await outbox().claim(T + 10, T + LEASE, 2)).entries).map((e) => e.id)).to.deep.equal([ids[2]]);
        });

        it('tells with each claim when the earliest message left is due, lease ends included', async () => {
          expect((await outbox().claim(T, T + LEASE, 10)).nextDue, 'empty').to.equal(undefined);
          const [now, later] = [randomUUID(), randomUUID()];
          await outbox().add(now, 'sealed-now', T);
          await outbox().add(later, 'sealed-later', T + 2 * LEASE);
          expect(await outbox().claim(T - 1, T + LEASE, 10), 'nothing due yet').to.deep.equal({ entries: [], nextDue: T });
          const first = await outbox().claim(T, T + LEASE, 10);
          expect(first.entries.map((e) => e.id)).to.deep.equal([now]);
          expect(first.nextDue, 'the lease end of what it took').to.equal(T + LEASE);
          await outbox().remove(now);
          expect((await outbox().claim(T, T + LEASE, 10)).nextDue).to.equal(T + 2 * LEASE);
          expect(await outbox().nextDue()).to.equal(T + 2 * LEASE);
        });

        it('of 20 parallel claimers, each of 30 due messages goes to exactly one', async () => {
          const ids = Array.from({ length: 30 }, () => randomUUID());
          for (const id of ids) await outbox().add(id, `sealed-${id}`, T);
          const claims = await Promise.all(Array.from({ length: 20 }, () => outbox().claim(T, T + LEASE, 3)));
          const won = claims.flatMap((c) => c.entries);
          expect(won.map((e) => e.id).sort()).to.deep.equal([...ids].sort());
          for (const entry of won) expect(entry).to.include({ sealed: `sealed-${entry.id}`, attempts: 1 });
        });

        it('removes a message for good; an empty outbox has nothing due', async () => {
          const id = randomUUID();
          await outbox().add(id, 'sealed-4', T);
          await outbox().remove(id);
          expect((await outbox().claim(Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, 10)).entries).to.deep.equal([]);
          expect(await outbox().nextDue()).to.equal(undefined);
          expect(await outbox().reschedule(id, 'any', T)).to.equal(false);
          await outbox().remove(id); // removing twice is harmless
        });
      });
    }

    it('keeps the outboxes apart: a message added to one is never claimed, moved or removed through the other', async () => {
      const id = randomUUID();
      await stores.logoutOutbox.add(id, 'sealed-logout', T);
      expect((await stores.outbox.claim(T, T + LEASE, 10)).entries).to.deep.equal([]);
      expect(await stores.outbox.nextDue()).to.equal(undefined);
      await stores.outbox.remove(id);
      const [entry] = (await stores.logoutOutbox.claim(T, T + LEASE, 10)).entries;
      expect(entry).to.include({ id, sealed: 'sealed-logout', attempts: 1 });
      expect(await stores.outbox.reschedule(id, entry!.claim, T)).to.equal(false);
      expect(await stores.logoutOutbox.reschedule(id, entry!.claim, T + 1)).to.equal(true);
      await stores.logoutOutbox.remove(id);
      expect(await stores.logoutOutbox.nextDue()).to.equal(undefined);
    });

    describe('as the mail queue uses it', () => {
      const smtp = new SmtpCapture();
      let queue: MailQueue;
      before(async () => {
        await smtp.start();
        queue = testMailQueue(stores.outbox, smtp.url, { options: { retryDelaysMs: [200] } });
      });
      after(async () => {
        await queue.stop();
        await smtp.stop();
      });

      it('keeps a queued sign-in mail sealed: no link, code, address or subject in the store; nothing once sent', async () => {
        const code = randomBytes(32).toString('base64url');
        const mail = signInMail({
          to: 'sealed-recipient@example.com',
          brand: { name: 'Sealed Outbox App' },
          language: 'en',
          link: `https://id.example.com/apps/x/interaction/abc/link?code=${code}`,
          shortCode: 'QWER-TYUI',
          ttlSeconds: 900,
        });
        const before = await atRest(stores);
        smtp.rejectNext = 1; // the mail waits in the outbox for its retry
        await queue.enqueue(mail, { appId: 'x', email: 'sealed-recipient@example.com', ip: '203.0.113.9' });
        await smtp.until('the first attempt was refused', () => smtp.rejectNext === 0);
        const held = await atRest(stores);
        for (const secret of [code, 'QWER-TYUI', 'QWERTYUI', 'sealed-recipient', 'Sealed Outbox App', '203.0.113.9']) {
          expect(held.includes(secret), `${secret} at rest`).to.equal(false);
        }
        expect(await stores.outbox.nextDue(), 'waiting for its retry').to.be.a('number');

        const sent = await smtp.next('sealed-recipient@example.com');
        expect(linkIn(sent)).to.include(code);
        await queue.idle();
        expect(await stores.outbox.nextDue()).to.equal(undefined);
        expect(await atRest(stores), 'the store as before the mail').to.equal(before);
      });
    });
  });
}
