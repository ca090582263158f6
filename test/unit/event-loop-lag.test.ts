// The event-loop monitor load shedding reads, measured for real: the test holds the loop
// with a busy loop and reads what the monitor saw.
import { expect } from 'chai';
import { EventLoopLag, processEventLoopLag } from '../../src/http/event-loop-lag.ts';
import { holdEventLoop } from '../helpers/hold-event-loop.ts';


const tick = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `read` until it is below `limit`; fails after `withinMs`. */
async function until(read: () => number, limit: number, withinMs: number): Promise<number> {
  const giveUp = performance.now() + withinMs;
  for (let value = read(); ; value = read()) {
    if (value < limit) return value;
    if (performance.now() > giveUp) throw new Error(`still ${value} ms after ${withinMs} ms`);
    await tick(20);
  }
}

describe('event-loop lag monitor', () => {
  const STALL_MS = 300;
  let lag: EventLoopLag;

  beforeEach(async () => {
    lag = new EventLoopLag({ intervalMs: 10, windowMs: 1_000 }).start();
    await tick(30);
  });
  afterEach(() => lag.stop());

  it('sees a stall while it is still the current one, before its timer has run again', () => {
    holdEventLoop(STALL_MS);
    // The stall has just ended and no timer has run since: the reading includes it.
    expect(lag.lagMs()).to.be.at.least(STALL_MS - 10);
  });

  it('remembers a stall for its window after the timer has seen it, then forgets it', async () => {
    holdEventLoop(STALL_MS);
    await tick(0); // the monitor's timer runs first: the stall is now a recorded delay
    expect(lag.lagMs()).to.be.at.least(STALL_MS - 10);
    await tick(50);
    expect(lag.lagMs(), 'held within the window').to.be.at.least(STALL_MS - 10);
    // With nothing holding the loop, the reading falls back once the window has passed.
    const calm = await until(() => lag.lagMs(), STALL_MS / 2, 5_000);
    expect(calm).to.be.below(STALL_MS / 2);
  });

  it('keeps the longest of several stalls in the window', async () => {
    holdEventLoop(STALL_MS);
    await tick(0);
    holdEventLoop(50);
    await tick(0);
    expect(lag.lagMs()).to.be.at.least(STALL_MS - 10);
  });

  it('reads nothing before it is started', () => {
    const idle = new EventLoopLag({ intervalMs: 10 });
    holdEventLoop(50);
    expect(idle.lagMs()).to.equal(0);
  });

  it('is one running monitor per process', async () => {
    const first = processEventLoopLag();
    expect(processEventLoopLag()).to.equal(first);
    await tick(30);
    holdEventLoop(STALL_MS);
    expect(first.lagMs()).to.be.at.least(STALL_MS - 10);
  });
});
