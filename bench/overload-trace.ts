// Preloaded (node --import) into the server bench/overload.ts overloads: records what
// holds its event loop up, so that a slow probe can be put down to a cause. Every garbage
// collection's pause (start, length, kind) and the event loop's delay histogram are written,
// as JSON, to the file named by OVERLOAD_TRACE_FILE when the process exits; times are
// milliseconds since the epoch (performance.timeOrigin + now), comparable across processes.
// OVERLOAD_V8_FLAGS are set first (V8 refuses most of them in NODE_OPTIONS).
import { writeFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { constants, monitorEventLoopDelay, performance, PerformanceObserver } from 'node:perf_hooks';

export interface GcPause {
  readonly at: number;
  readonly ms: number;
  readonly kind: string;
}

export interface OverloadTrace {
  readonly gc: GcPause[];
  readonly loopDelayP99Ms: number;
  readonly loopDelayMaxMs: number;
}

const KINDS: Record<number, string> = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'scavenge',
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'mark-compact',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental marking',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weak callbacks',
};

if (process.env.OVERLOAD_V8_FLAGS) setFlagsFromString(process.env.OVERLOAD_V8_FLAGS);

const file = process.env.OVERLOAD_TRACE_FILE;
if (file) {
  const gc: GcPause[] = [];
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = (entry as unknown as { detail?: { kind?: number } }).detail?.kind ?? 0;
      gc.push({ at: performance.timeOrigin + entry.startTime, ms: entry.duration, kind: KINDS[kind] ?? String(kind) });
    }
  }).observe({ entryTypes: ['gc'] });
  const delay = monitorEventLoopDelay({ resolution: 5 });
  delay.enable();
  process.on('exit', () => {
    const trace: OverloadTrace = { gc, loopDelayP99Ms: delay.percentile(99) / 1e6, loopDelayMaxMs: delay.max / 1e6 };
    writeFileSync(file, JSON.stringify(trace));
  });
}
