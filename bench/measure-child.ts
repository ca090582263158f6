// Preloaded (node --import) into every server the comparison benchmark starts, Postern's
// src/main.ts and the bare engine alike, so both are measured the same way: the parent
// asks over the IPC channel for this process's CPU time, event-loop delay and memory at
// the start and end of a measuring window.
import { monitorEventLoopDelay } from 'node:perf_hooks';

export interface Measure {
  /** User + system CPU time of this process, milliseconds, since the window started. */
  readonly cpuMs: number;
  readonly loopDelayP99Ms: number;
  readonly loopDelayMeanMs: number;
  readonly rssMb: number;
  readonly heapMb: number;
}

const delay = monitorEventLoopDelay({ resolution: 10 });
delay.enable();
let since = process.cpuUsage();

process.on('message', (message: { cmd?: string; id?: number }) => {
  if (message.cmd === 'start') {
    delay.reset();
    since = process.cpuUsage();
    process.send?.({ id: message.id });
  } else if (message.cmd === 'stop') {
    const used = process.cpuUsage(since);
    // After a GC where the process was started with --expose-gc: live memory, not garbage.
    (globalThis as { gc?: () => void }).gc?.();
    const memory = process.memoryUsage();
    const measure: Measure = {
      cpuMs: (used.user + used.system) / 1000,
      loopDelayP99Ms: delay.percentile(99) / 1e6,
      loopDelayMeanMs: delay.mean / 1e6,
      rssMb: memory.rss / 2 ** 20,
      heapMb: memory.heapUsed / 2 ** 20,
    };
    process.send?.({ id: message.id, measure });
  }
});
// The channel must not keep a server alive after the parent is gone.
process.channel?.unref();
process.on('disconnect', () => process.exit(0));
