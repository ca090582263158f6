// The caches' need of V8 heap against the limit the process was started with: the start
// command's cap fits the default PROVIDER_CACHE_MB; a cap too small is refused at start
// with both ways out named, rather than a process that collects garbage without end.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { SETTINGS } from '../../config/settings.ts';
import { HEAP_PER_CACHE_MB, heapTooSmall } from '../../src/tenancy/heap-budget.ts';

const MiB = 2 ** 20;
const read = (file: string) => readFileSync(new URL(`../../${file}`, import.meta.url), 'utf8');

/** The old-generation caps the Dockerfile's CMD and `npm start` start Postern with (each must set one). */
function startCommandHeapCapMb(): number[] {
  const commands = [read('Dockerfile').split('\n').filter((l) => l.startsWith('CMD ')).at(-1)!, (JSON.parse(read('package.json')) as { scripts: { start: string } }).scripts.start];
  return commands.map((command) => {
    const cap = /--max-old-space-size=(\d+)/.exec(command);
    expect(cap, command).to.not.equal(null);
    return Number(cap![1]);
  });
}

describe('heap budget of the caches', () => {
  it('lets the default PROVIDER_CACHE_MB run under the cap of the Dockerfile and npm start', () => {
    const byDefault = (SETTINGS.find((s) => s.key === 'providerCacheMb')!.default as { value: number }).value;
    for (const cap of startCommandHeapCapMb()) {
      // heap_size_limit is the old-generation cap plus the young generation: the cap alone must do.
      expect(heapTooSmall(byDefault, cap * MiB), `--max-old-space-size=${cap}`).to.equal(undefined);
    }
  });

  it('refuses a cache the heap limit cannot hold, naming the setting, the limit and both ways out', () => {
    const refusal = heapTooSmall(512, 640 * MiB);
    expect(refusal).to.be.a('string');
    expect(refusal).to.include('PROVIDER_CACHE_MB=512').and.include('1280 MiB').and.include('640 MiB');
    expect(refusal).to.include('--max-old-space-size=1280').and.include(`PROVIDER_CACHE_MB to ${Math.floor(640 / HEAP_PER_CACHE_MB)}`);
    // The way out it names fits.
    expect(heapTooSmall(Math.floor(640 / HEAP_PER_CACHE_MB), 640 * MiB)).to.equal(undefined);
  });

  it('holds at the edge: exactly enough passes, a MiB less does not', () => {
    expect(heapTooSmall(256, 640 * MiB)).to.equal(undefined);
    expect(heapTooSmall(256, 639 * MiB)).to.be.a('string');
    expect(heapTooSmall(8, 20 * MiB)).to.equal(undefined);
  });
});
