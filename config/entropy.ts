// How much a secret's own symbols say about its randomness: enough to refuse a placeholder
// (`aaaa…`, `changeme` four times, sixty-four zeros), which is what operators leave in
// place. It cannot see a sequence (`abcdef…`, bytes 0, 1, 2 …) or a phrase, and does not
// try: it refuses what is certainly not random, it does not grade passwords.

/**
 * The bits `symbols` (the characters of a text, or the bytes of a key) hold at most, judged
 * from how often each occurs: the length times the Shannon entropy of the symbol
 * frequencies. A value that is a shorter block repeated (at least twice, the last copy
 * possibly cut short) is judged by that block alone. So one repeated symbol gives 0, a
 * repeated word the bits of one copy, and n symbols of k kinds at most n × log2 k.
 */
export function estimatedBits(symbols: Iterable<string | number>): number {
  const all = [...symbols]; // a string gives its code points, a Buffer its bytes
  const block = all.slice(0, repeatingBlock(all));
  const counts = new Map<string | number, number>();
  for (const s of block) counts.set(s, (counts.get(s) ?? 0) + 1);
  let bits = 0;
  for (const count of counts.values()) bits += count * Math.log2(block.length / count);
  return bits;
}

/**
 * The length of the shortest block that, repeated at least twice, spells `s` (its last copy
 * may be cut short), or `s.length` when there is none. Knuth–Morris–Pratt's failure function:
 * the longest border (a prefix that is also a suffix) leaves the period.
 */
function repeatingBlock(s: readonly (string | number)[]): number {
  const n = s.length;
  const border = new Array<number>(n).fill(0);
  for (let i = 1; i < n; i++) {
    let k = border[i - 1]!;
    while (k > 0 && s[i] !== s[k]) k = border[k - 1]!;
    border[i] = s[i] === s[k] ? k + 1 : k;
  }
  const period = n - (border[n - 1] ?? 0);
  // A period above half the length is only a matching start and end (common in random text).
  return period <= n / 2 ? period : n;
}
