// An outbox of the memory driver: in this process only, so messages still waiting when the
// process ends are lost. The queue knows (durable: false) and reports each such message
// as failed at shutdown instead of letting it vanish.
import { randomUUID } from 'node:crypto';
import type { Outbox, OutboxClaim, OutboxLease } from '../ports.ts';

interface Held {
  readonly sealed: string;
  attempts: number;
  dueAt: number;
  claim: string | undefined;
}

export class MemoryOutbox implements Outbox {
  readonly durable = false;
  /** Read raw by the at-rest tests. */
  readonly messages = new Map<string, Held>();

  async add(id: string, sealed: string, dueAt: number, lease?: OutboxLease) {
    this.messages.set(id, lease ? { sealed, attempts: 1, dueAt: lease.until, claim: lease.claim } : { sealed, attempts: 0, dueAt, claim: undefined });
  }

  async claim(now: number, leaseUntil: number, limit: number): Promise<OutboxClaim> {
    const due = [...this.messages].filter(([, held]) => held.dueAt <= now).sort(([, a], [, b]) => a.dueAt - b.dueAt);
    const claim = randomUUID();
    const entries = due.slice(0, limit).map(([id, held]) => {
      held.attempts += 1;
      held.dueAt = leaseUntil;
      held.claim = claim;
      return { id, sealed: held.sealed, attempts: held.attempts, claim };
    });
    return { entries, nextDue: await this.nextDue() };
  }

  async reschedule(id: string, claim: string, dueAt: number) {
    const held = this.messages.get(id);
    if (held?.claim !== claim) return false;
    held.dueAt = dueAt;
    held.claim = undefined;
    return true;
  }

  async remove(id: string) {
    this.messages.delete(id);
  }

  async size() {
    return this.messages.size;
  }

  async nextDue() {
    let next: number | undefined;
    for (const held of this.messages.values()) if (next === undefined || held.dueAt < next) next = held.dueAt;
    return next;
  }
}
