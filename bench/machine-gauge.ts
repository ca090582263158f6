// How fast this machine is right now, in one figure the benchmarks print beside their own:
// Node's ES512 signatures per second on one core (crypto.sign on a P-521 key, synchronous,
// nothing else running in this process). Absolute CPU-ms per request move with the machine
// (a shared machine's speed has varied 1.5× between sessions); ratios to the bare engine do
// not. bench/README.md, "Reading absolute figures", gives the gauge of its recorded runs.
import { generateKeyPairSync, sign } from 'node:crypto';
import { performance } from 'node:perf_hooks';

/** Calls of `once` per second, one after another on this thread, for `seconds`. */
export function syncRate(once: () => unknown, seconds: number): number {
  const start = performance.now();
  const until = start + seconds * 1000;
  let count = 0;
  while (performance.now() < until) {
    once();
    count++;
  }
  return count / ((performance.now() - start) / 1000);
}

/** The gauge: what `npm run bench:signer` reports as Node's crypto.sign on one core. */
export function nodeEs512PerSecond(seconds = 1): number {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-521' });
  const message = Buffer.from('machine-gauge');
  return syncRate(() => sign('sha512', message, { key: privateKey, dsaEncoding: 'ieee-p1363' }), seconds);
}

export const gaugeLine = (perSecond: number) => `machine gauge: ${perSecond.toFixed(0)} Node ES512 signatures/s on one core (absolute CPU-ms scale with it; ratios do not)`;
