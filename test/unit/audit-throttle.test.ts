// The audit trail's throttle of failure events per app and client (src/audit-throttle.ts),
// through the audit log itself: what reaches the log and the store.
import { expect } from 'chai';
import { createAuditLog, type AuditEvent } from '../../src/audit.ts';
import { FAILURES_PER_MINUTE, MAX_TRACKED_CLIENTS } from '../../src/audit-throttle.ts';
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

  it('keeps its memory bounded: beyond the clients it tracks in a minute, failures are dropped with one notice', async () => {
    const { clock, audit, kept } = setup();
    for (let i = 0; i < MAX_TRACKED_CLIENTS + 50; i++) audit.record(failure(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`));
    await audit.flushed();
    expect(await audit.query('app-1', { limit: 20_000, type: 'link.opened' })).to.have.length(MAX_TRACKED_CLIENTS);
    expect(await audit.query('app-1', { limit: 20_000, type: 'audit.suppressed' })).to.have.length(1);
    clock.travel(60);
    audit.record(failure('10.200.0.1'));
    expect((await audit.query('app-1', { limit: 1, type: 'link.opened' }))[0]?.ip).to.equal('10.200.0.1');
  });
});
