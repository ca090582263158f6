// The comparison benchmark's tools: servers as child processes that report their own CPU
// time (bench/measure-child.ts), a closed-loop load over kept-alive connections, and the
// numbers each window yields.
import { fork, type ChildProcess } from 'node:child_process';
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { Measure } from './measure-child.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** This tree's preload, whichever tree the server runs from. */
const MEASURE_CHILD = new URL('./measure-child.ts', import.meta.url).href;

export interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/** One HTTP request over `agent`. */
export function send(agent: Agent, url: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers = { ...init.headers, ...(init.body === undefined ? {} : { 'content-length': String(Buffer.byteLength(init.body)) }) };
    const req = request(url, { method: init.method ?? 'GET', headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(init.body);
  });
}

/** A server process started with the measuring preload; `measure` brackets a window. */
export class ServerProcess {
  readonly #child: ChildProcess;
  readonly #waiting = new Map<number, (reply: { measure?: Measure }) => void>();
  #next = 0;
  output = '';

  /** `root`: the tree to run `entry` from (another checkout, for a paired A/B of two versions). */
  constructor(entry: string, env: Record<string, string>, root = ROOT) {
    this.#child = fork(entry, [], {
      cwd: root,
      execArgv: [...(process.env.BENCH_PROFILE ? ['--cpu-prof', '--cpu-prof-dir=' + process.env.BENCH_PROFILE] : []), '--disable-warning=ExperimentalWarning', '--expose-gc', '--import', MEASURE_CHILD],
      env: { PATH: process.env.PATH ?? '', ...env },
      // stdout (Postern's log lines) is written and dropped, as to a log shipper that keeps up.
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    this.#child.stderr?.on('data', (d: Buffer) => (this.output += d.toString()));
    this.#child.on('message', (reply: { id?: number; measure?: Measure }) => {
      if (reply.id === undefined) return;
      this.#waiting.get(reply.id)?.(reply);
      this.#waiting.delete(reply.id);
    });
  }

  #ask(cmd: string): Promise<{ measure?: Measure }> {
    const id = this.#next++;
    return new Promise((resolve) => {
      this.#waiting.set(id, resolve);
      this.#child.send({ cmd, id });
    });
  }

  /** Polls `url` until it answers 200 (at most 20 s). */
  async ready(url: string): Promise<this> {
    for (let i = 0; i < 400; i++) {
      if (this.#child.exitCode !== null) throw new Error(`server exited early (${this.#child.exitCode}):\n${this.output}`);
      try {
        if ((await fetch(url)).status === 200) return this;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`server did not become ready:\n${this.output}`);
  }

  async measure<T>(work: () => Promise<T>): Promise<{ result: T; measure: Measure }> {
    await this.#ask('start');
    const result = await work();
    const { measure } = await this.#ask('stop');
    return { result, measure: measure! };
  }

  async stop(): Promise<void> {
    const child = this.#child;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}

export interface LoadResult {
  readonly ok: number;
  readonly failed: number;
  readonly seconds: number;
  readonly latencies: number[];
  /** Status counts of failed requests, e.g. "503×3". */
  readonly failures: string;
}

/**
 * `concurrency` loops, each sending its next request when its last one is answered, for
 * `seconds`. `once(worker, i)` does one operation and tells whether it succeeded.
 */
export async function closedLoop(concurrency: number, seconds: number, once: (worker: number, i: number) => Promise<boolean | number>): Promise<LoadResult> {
  const latencies: number[] = [];
  const failures = new Map<string, number>();
  let ok = 0;
  let count = 0;
  const started = performance.now();
  const until = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      while (performance.now() < until) {
        const t0 = performance.now();
        let outcome: boolean | number | string;
        try {
          outcome = await once(worker, count++);
        } catch (err) {
          outcome = (err as Error).message.slice(0, 40);
        }
        if (outcome === true) {
          ok++;
          latencies.push(performance.now() - t0);
        } else {
          failures.set(String(outcome), (failures.get(String(outcome)) ?? 0) + 1);
        }
      }
    }),
  );
  const failed = [...failures.values()].reduce((a, b) => a + b, 0);
  return { ok, failed, seconds: (performance.now() - started) / 1000, latencies, failures: [...failures].map(([k, n]) => `${k}×${n}`).join(' ') };
}

export function percentile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

export function median(values: readonly number[]): number {
  return percentile(values, 0.5);
}

/** Runs `work` over `items`, `limit` at a time. */
export async function inBatches<T, R>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  for (let i = 0; i < items.length; i += limit) results.push(...(await Promise.all(items.slice(i, i + limit).map((item, j) => work(item, i + j)))));
  return results;
}
