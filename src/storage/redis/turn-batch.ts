// Calls made close together go to Redis as one script call: each call is an item, the
// batch is sent when `schedule` fires (the end of the current microtasks for look-ups a
// request waits on; the end of the event-loop turn for writes nobody waits on), and every
// item's promise settles with the batch: its own answer, or the batch's error.

/** `send` answers one value per item, in order. */
export function turnBatch<T, R>(schedule: (flush: () => void) => void, send: (items: readonly T[]) => Promise<readonly R[]>): (item: T) => Promise<R> {
  let pending: { item: T; resolve: (value: R) => void; reject: (err: unknown) => void }[] = [];
  const flush = () => {
    const batch = pending;
    pending = [];
    send(batch.map((p) => p.item)).then(
      (answers) => batch.forEach((p, i) => p.resolve(answers[i]!)),
      (err: unknown) => batch.forEach((p) => p.reject(err)),
    );
  };
  return (item) =>
    new Promise<R>((resolve, reject) => {
      pending.push({ item, resolve, reject });
      if (pending.length === 1) schedule(flush);
    });
}
