// Holds this process's event loop with a busy loop: nothing else in the process (a
// server started by the test included) runs until it returns. How tests make real lag.
export function holdEventLoop(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // busy on purpose
  }
}
