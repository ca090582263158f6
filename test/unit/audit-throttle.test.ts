// The audit trail's throttle of the events anyone can cause, per app and client (src/audit-throttle.ts),
// through the audit log itself: what reaches the log and the store.
import { expect } from 'chai';
import { createAuditLog, type AuditEvent } from '../../src/audit.ts';
import { AUDIT_FAILURE_BUDGETS, REPEATABLE_SUCCESSES } from '../../src/audit-throttle.ts';
import { INSTANCE_TRAIL } from '../../src/storage/ports.ts';

const { perClient: FAILURES_PER_MINUTE, perApp, perInstance } = AUDIT_FAILURE_BUDGETS;
import { createLogger } from '../../src/log.ts';
import { openMemoryStores } from '../../src/storage/memory/memory-stores.ts';
import { TestClock } from '../helpers/clock.ts';

describe('audit trail: failure events throttled per app and client', () => {
  const setup = () => {
    const clock = new TestClock();
    // At the start of a minute, so no test's burst straddles two.
    clock.travel((60_000 - (clock.now() % 60_000)) / 1000);
    const stores = openMemoryStores(clock);
    const lines: string[] = [];
    const audit = createAuditLog(createLogger('info', (line) => lines.push(line)), stores.audit, 3600, clock);
    const kept = async (appId: string) => audit.flushed().then(() => audit.query(appId, { limit: 500 }));
    return { clock, audit, lines, kept };
  };
  const failure = (ip: string, appId = 'app-1'): AuditEvent => ({ type: 'link.opened', outcome: 'failure', reason: 'invalid', appId, ip, userAgent: 'flood/1', requestId: 'r' });

  it('records a client\'s first failures of a minute, then one audit.suppressed and nothing more from it until the next minute', async () => {
    const { clock, audit, lines, kept } = setup();
    for (let i = 0; i < FAILURES_PER_MINUTE + 200; i++) audit.record(failure('203.0.113.9'));
    const events = await kept('app-1');
    expect(events).to.have.length(FAILURES_PER_MINUTE + 1);
    expect(events.filter((e) => e.type === 'audit.suppressed')).to.have.length(1);
    expect(events.find((e) => e.type === 'audit.suppressed')).to.include({ ip: '203.0.113.9', outcome: 'failure' });
    expect(lines.filter((l) => l.includes('"audit"'))).to.have.length(FAILURES_PER_MINUTE + 1);
    clock.travel(60);
    audit.record(failure('203.0.113.9'));
    expect(await kept('app-1')).to.have.length(FAILURES_PER_MINUTE + 2);
  });

  it('counts per client as every limit does: one IPv6 /64 is one client, in any spelling; another address, another app or a success is recorded', async () => {
    const { audit, kept } = setup();
    const spellings = ['2001:db8:1:2::1', '2001:DB8:1:2:0:0:0:ffff', '2001:db8:1:2:abcd::7'];
    for (let i = 0; i < FAILURES_PER_MINUTE + 30; i++) audit.record(failure(spellings[i % spellings.length]!));
    audit.record(failure('2001:db8:1:3::1'));
    audit.record(failure('2001:db8:1:2::1', 'app-2'));
    audit.record({ type: 'link.accepted', outcome: 'success', appId: 'app-1', ip: '2001:db8:1:2::1', email: 'ada@example.com' });
    const events = await kept('app-1');
    expect(events.filter((e) => spellings.includes(String(e.ip)))).to.have.length(FAILURES_PER_MINUTE + 2);
    expect(events.filter((e) => String(e.ip) === '2001:db8:1:3::1')).to.have.length(1);
    expect(events.filter((e) => e.type === 'link.accepted')).to.have.length(1);
    expect(await kept('app-2')).to.have.length(1);
  });

  it('throttles the successes anyone can repeat at will as failures, in the same budget; every other success is recorded', async () => {
    const { audit, kept } = setup();
    const ip = '198.51.100.7';
    const success = (type: string): AuditEvent => ({ type, outcome: 'success', appId: 'app-1', ip, email: 'ada@example.com' });
    for (const type of REPEATABLE_SUCCESSES) for (let i = 0; i < FAILURES_PER_MINUTE; i++) audit.record(success(type));
    for (let i = 0; i < 100; i++) audit.record(success('token.refreshed'));
    const events = await kept('app-1');
    expect(events.filter((e) => REPEATABLE_SUCCESSES.has(e.type))).to.have.length(FAILURES_PER_MINUTE);
    expect(events.filter((e) => e.type === 'audit.suppressed')).to.have.length(1);
    expect(events.find((e) => e.type === 'audit.suppressed')!.reason).to.include(`the first dropped: ${[...REPEATABLE_SUCCESSES][1]}`);
    expect(events.filter((e) => e.type === 'token.refreshed')).to.have.length(100);
  });

  const ipOf = (i: number) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;

  it("caps an app's failures from many clients (one per /64 of a /48), with a notice in that app's trail; another app is untouched", async () => {
    const { audit, kept } = setup();
    for (let i = 0; i < perApp + 300; i++) audit.record(failure(`2001:db8:7:${i.toString(16)}::1`));
    audit.record(failure('203.0.113.50', 'victim'));
    await audit.flushed();
    expect(await audit.query('app-1', { limit: 5000, type: 'link.opened' })).to.have.length(perApp);
    const notices = await audit.query('app-1', { limit: 10, type: 'audit.suppressed' });
    expect(notices).to.have.length(1);
    expect(notices[0]!.reason).to.include(`more than ${perApp} failure or repeatable events for this app`);
    expect(await kept('victim')).to.have.length(1);
  });

  it('caps the failures of all apps together, with one notice in the instance\'s trail, until the next minute', async () => {
    const { clock, audit } = setup();
    const apps = Math.ceil(perInstance / (perApp / 2)) + 2;
    let i = 0;
    for (let a = 0; a < apps; a++) for (let k = 0; k < perApp / 2; k++) audit.record(failure(ipOf(i++), `app-${a}`));
    await audit.flushed();
    let recorded = 0;
    for (let a = 0; a < apps; a++) recorded += (await audit.query(`app-${a}`, { limit: 5000, type: 'link.opened' })).length;
    expect(recorded).to.equal(perInstance);
    const notices = await audit.query(INSTANCE_TRAIL, { limit: 10, type: 'audit.suppressed' });
    expect(notices).to.have.length(1);
    expect(notices[0]!.reason).to.include(`more than ${perInstance} failure or repeatable events on this instance`);
    clock.travel(60);
    audit.record(failure('10.200.0.1', `app-${apps - 1}`));
    expect((await audit.query(`app-${apps - 1}`, { limit: 1, type: 'link.opened' }))[0]?.ip).to.equal('10.200.0.1');
  });
});
