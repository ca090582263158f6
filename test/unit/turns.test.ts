// Turns for expensive requests (src/http/turns.ts), on their own: which request starts at
// once, which waits for a later turn of the event loop, and which is refused. The loop is
// held for real (holdEventLoop) where a turn must be used up or a wait must be long, so
// every outcome here follows from the clock's order, never from a measured speed.
import { expect } from 'chai';
import type { LagSource } from '../../src/http/event-loop-lag.ts';
import { Turns, type Admission } from '../../src/http/turns.ts';
import { holdEventLoop } from '../helpers/hold-event-loop.ts';

class SetLag implements LagSource {
  ms = 0;
  lagMs() {
    return this.ms;
  }
}

const BUDGET_MS = 5;
const MAX_WAIT_MS = 200;

function turns(lag = new SetLag()) {
  return new Turns({ budgetMs: BUDGET_MS, maxWaitMs: MAX_WAIT_MS, maxLagMs: MAX_WAIT_MS, lag });
}

/** The next turn of the event loop, after everything already scheduled for this one. */
const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe('turns for expensive requests', () => {
  it('starts a request at once, without a promise, when nothing waits and the turn has room (normal load)', async () => {
    const t = turns();
    for (let i = 0; i < 20; i++) {
      expect(t.admit(), `request ${i}`).to.equal('go');
      await nextTurn();
    }
    expect(t.waiting).to.equal(0);
  });

  it('keeps the rest of a turn that has used its budget for later turns, in order of arrival, and starts them all when none waited too long', async () => {
    const t = turns();
    expect(t.admit()).to.equal('go');
    holdEventLoop(BUDGET_MS + 1); // this turn's work
    const order: number[] = [];
    const waiting = Array.from({ length: 10 }, (_, i) => Promise.resolve(t.admit()).then((a) => (order.push(i), a)));
    expect(t.waiting, 'all wait: the turn is used up').to.equal(10);
    expect(await Promise.all(waiting)).to.deep.equal(Array(10).fill('go'));
    expect(order).to.deep.equal([...order].sort((a, b) => a - b));
  });

  it('starts at most a budget of work per turn, letting the loop poll in between', async () => {
    const t = turns();
    t.admit();
    holdEventLoop(BUDGET_MS + 1);
    const started: number[] = [];
    const waiting = Array.from({ length: 6 }, (_, i) =>
      Promise.resolve(t.admit()).then((a) => {
        started.push(i);
        holdEventLoop(BUDGET_MS / 2); // each request's synchronous work
        return a;
      }),
    );
    // Timers scheduled now run when the loop gets round to them: between turns.
    const seenBetween: number[] = [];
    const probe = setInterval(() => seenBetween.push(started.length), 0);
    await Promise.all(waiting);
    clearInterval(probe);
    expect(started).to.have.length(6);
    // With half a budget per request, no turn starts all six: someone looked in between.
    expect(seenBetween.some((n) => n > 0 && n < 6), `started counts seen between turns: ${seenBetween}`).to.equal(true);
  });

  it('refuses a request that waited longer than the limit, and starts the next one that did not', async () => {
    const t = turns();
    t.admit();
    holdEventLoop(BUDGET_MS + 1);
    const old = t.admit();
    holdEventLoop(MAX_WAIT_MS + 1); // it waits out the limit before its turn comes
    expect(await old).to.equal('shed');
    await nextTurn();
    expect(t.admit(), 'a fresh turn').to.equal('go');
  });

  it('refuses at once while the loop lags and nothing waits, and judges waiting requests by their wait alone', async () => {
    const lag = new SetLag();
    const t = turns(lag);
    lag.ms = MAX_WAIT_MS + 1;
    expect(t.admit(), 'lagging, nothing waits').to.equal('shed');
    expect(t.waiting, 'refused without queueing').to.equal(0);
    lag.ms = 0;
    t.admit();
    holdEventLoop(BUDGET_MS + 1);
    const queued = t.admit();
    // The lag of the turn they arrived in (a burst's own arrival, say) is remembered by the
    // monitor: it neither refuses them nor the ones joining behind them, nor at their turn.
    lag.ms = MAX_WAIT_MS + 1;
    const queuedLater = t.admit();
    expect(t.waiting).to.equal(2);
    expect(await queued).to.equal('go');
    expect(await queuedLater).to.equal('go');
  });

  it('refuses a new request at once, without queueing it, while the head of the queue has waited longer than the limit', async () => {
    const t = turns();
    t.admit();
    holdEventLoop(BUDGET_MS + 1);
    const head = t.admit();
    holdEventLoop(MAX_WAIT_MS + 1); // the head waits out the limit before its turn comes
    expect(t.admit(), 'behind a standing queue').to.equal('shed');
    expect(t.waiting, 'only the head waits').to.equal(1);
    expect(await head).to.equal('shed');
    await nextTurn();
    expect(t.admit(), 'the queue drained: a fresh turn').to.equal('go');
  });

  it('refuses everything waiting at close, and everything after it', async () => {
    const t = turns();
    t.admit();
    holdEventLoop(BUDGET_MS + 1);
    const waiting: Promise<Admission>[] = Array.from({ length: 5 }, () => Promise.resolve(t.admit()));
    t.close();
    expect(t.waiting).to.equal(0);
    expect(await Promise.all(waiting)).to.deep.equal(Array(5).fill('shed'));
    await nextTurn();
    expect(t.admit()).to.equal('shed');
  });

  it('drains a queue of thousands, each answered once', async () => {
    const t = turns();
    t.admit();
    holdEventLoop(BUDGET_MS + 1);
    const answers = await Promise.all(Array.from({ length: 3000 }, () => Promise.resolve(t.admit())));
    expect(answers).to.have.length(3000);
    expect(answers.every((a) => a === 'go' || a === 'shed')).to.equal(true);
    expect(t.waiting).to.equal(0);
  });

  describe('admitted work going on (resume)', () => {
    it('goes on at once, without a promise, while the turn has room (normal load)', async () => {
      const t = turns();
      for (let i = 0; i < 20; i++) {
        expect(t.resume(), `step ${i}`).to.equal(undefined);
        await nextTurn();
      }
    });

    it('waits for a later turn once the turn has used its budget: in order, ahead of requests waiting to start, never refused', async () => {
      const t = turns();
      t.admit();
      holdEventLoop(BUDGET_MS + 1);
      const order: string[] = [];
      const start = Promise.resolve(t.admit()).then((a) => order.push(`start ${a}`));
      const steps = Array.from({ length: 5 }, (_, i) => t.resume()!.then(() => order.push(`step ${i}`)));
      expect(t.waiting, 'requests waiting to start').to.equal(1);
      await Promise.all([start, ...steps]);
      expect(order).to.deep.equal(['step 0', 'step 1', 'step 2', 'step 3', 'step 4', 'start go']);
    });

    it('goes on after close, when requests waiting to start are refused', async () => {
      const t = turns();
      t.admit();
      holdEventLoop(BUDGET_MS + 1);
      const step = t.resume();
      const start = Promise.resolve(t.admit());
      t.close();
      expect(await start).to.equal('shed');
      await step; // resolves: a request that began finishes
      await nextTurn();
      expect(t.resume(), 'a fresh turn').to.equal(undefined);
    });

    it('goes on with at most a budget of work per turn, letting the loop poll in between', async () => {
      const t = turns();
      t.admit();
      holdEventLoop(BUDGET_MS + 1);
      let done = 0;
      const steps = Array.from({ length: 6 }, () =>
        t.resume()!.then(() => {
          done++;
          holdEventLoop(BUDGET_MS / 2); // each continuation's synchronous work
        }),
      );
      const seenBetween: number[] = [];
      const probe = setInterval(() => seenBetween.push(done), 0);
      await Promise.all(steps);
      clearInterval(probe);
      expect(seenBetween.some((n) => n > 0 && n < 6), `steps done seen between turns: ${seenBetween}`).to.equal(true);
    });
  });
});
