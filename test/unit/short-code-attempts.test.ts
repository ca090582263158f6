// MagicLinks.checkShortCode on the memory store: every typed code takes one of the link's
// 5 attempts before it is compared, so a burst sent at once gets no more comparisons than
// codes typed one by one. The memory store numbers attempts in call order, which makes
// the order of a burst, and so its outcome, exact here; the Redis run is in
// test/security/abuse-limits.test.ts.
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { MAX_SHORT_CODE_ATTEMPTS, MagicLinks, type ShortCodeCheck } from '../../src/sign-in/magic-links.ts';
import { openMemoryStores } from '../../src/storage/memory/memory-stores.ts';
import type { MagicLinkRecord, Stores } from '../../src/storage/ports.ts';
import { TestClock } from '../helpers/clock.ts';

describe('short-code attempts', () => {
  const clock = new TestClock();
  let stores: Stores;
  let links: MagicLinks;
  let record: MagicLinkRecord;
  let right: string;
  let wrong: string;

  beforeEach(async () => {
    stores = openMemoryStores(clock);
    links = new MagicLinks(stores.magicLinks, clock, randomBytes(32));
    const issued = await links.issue({ appId: 'app', interactionUid: 'uid', email: 'ada@example.com', clientId: 'app', ttl: 900 });
    record = (await links.latest('app', 'uid'))!;
    right = issued.shortCode;
    wrong = right === 'AAAAAAAA' ? 'BBBBBBBB' : 'AAAAAAAA';
  });
  afterEach(() => stores.close());

  const attemptsStored = async () => (await stores.magicLinks.find('app', record.hash))?.attempts;

  it('allows 5 attempts: the right code on the 5th still signs in', async () => {
    expect(MAX_SHORT_CODE_ATTEMPTS).to.equal(5);
    for (const left of [4, 3, 2, 1]) expect(await links.checkShortCode(record, wrong)).to.deep.equal({ status: 'wrong', attemptsLeft: left });
    const fifth = await links.checkShortCode(record, right.toLowerCase().replace(/^(.{4})/, '$1-'));
    expect(fifth.status).to.equal('valid');
  });

  it('locks the link with the 5th wrong code; the right code is then refused without being compared', async () => {
    for (let i = 0; i < 5; i++) await links.checkShortCode(record, wrong);
    expect(await links.checkShortCode(record, right)).to.deep.equal({ status: 'locked' });
    expect(await attemptsStored()).to.equal(5);
  });

  it('compares only the first 5 of 7 wrong codes and the right one sent at once: the right one, 8th, is refused', async () => {
    const typed = [...Array<string>(7).fill(wrong), right];
    const results: ShortCodeCheck[] = await Promise.all(typed.map((code) => links.checkShortCode(record, code)));
    expect(results.slice(0, 5)).to.deep.equal([4, 3, 2, 1, 0].map((left) => ({ status: 'wrong', attemptsLeft: left })));
    expect(results.slice(5)).to.deep.equal([{ status: 'locked' }, { status: 'locked' }, { status: 'locked' }]);
    expect(await attemptsStored()).to.equal(5);
    expect((await stores.magicLinks.find('app', record.hash))?.usedAt).to.equal(undefined);
  });

  it('lets the right code through when it is among the first 5 of a burst', async () => {
    const typed = [wrong, wrong, right, wrong, wrong, wrong, wrong, wrong];
    const results = await Promise.all(typed.map((code) => links.checkShortCode(record, code)));
    expect(results[2]!.status).to.equal('valid');
    expect(results.filter((r) => r.status === 'wrong')).to.have.length(4);
    expect(results.filter((r) => r.status === 'locked')).to.have.length(3);
  });

  it('counts malformed input as an attempt too', async () => {
    for (const junk of ['', 'x'.repeat(5000), '12', { code: right }, ['AAAA-AAAA']]) await links.checkShortCode(record, junk);
    expect(await links.checkShortCode(record, right)).to.deep.equal({ status: 'locked' });
  });
});
