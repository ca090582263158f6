// One secret in two settings: leaking one (an admin token pasted into a ticket) would then
// give away the other (every cookie key, or the key that seals signing keys at rest), and
// rotating one would silently keep the other. Each secret setting needs its own value.

/** A secret setting's value as parsed: a text, a list of texts, or the bytes of a key. */
export type SecretValue = string | readonly string[] | Buffer;

/**
 * Every byte string `secret` may stand for, as hex: its text as written, and decoded when it
 * reads as hex or base64/base64url. So the hex and the base64 spelling of one key, or a
 * token that is the key's hex, count as the same secret. (Values are already trimmed.)
 */
function spellings(secret: string | Buffer): string[] {
  if (Buffer.isBuffer(secret)) return [secret.toString('hex')];
  const found = [Buffer.from(secret, 'utf8').toString('hex')];
  if (/^(?:[0-9a-fA-F]{2})+$/.test(secret)) found.push(secret.toLowerCase());
  // Node's base64 decoder reads the url-safe alphabet too.
  if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(secret) && secret.replace(/=+$/, '').length % 4 !== 1) {
    found.push(Buffer.from(secret, 'base64').toString('hex'));
  }
  return found;
}

/** `a`, `a and b`, `a, b and c`. */
function listed(names: readonly string[]): string {
  return names.length < 2 ? names.join('') : `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`;
}

/**
 * One problem per secret held by more than one setting, naming the settings (and which key of
 * a list), never the value. `given` holds the secret settings that were set, not generated:
 * a generated secret is random and cannot repeat another.
 */
export function reusedSecrets(given: ReadonlyMap<string, SecretValue>): string[] {
  const groups: { names: Set<string>; labels: string[]; spellings: Set<string> }[] = [];
  for (const [name, value] of given) {
    const parts = Array.isArray(value) ? (value as readonly string[]) : [value as string | Buffer];
    parts.forEach((part, i) => {
      const mine = { names: new Set([name]), labels: [parts.length > 1 ? `${name} (key ${i + 1})` : name], spellings: new Set(spellings(part)) };
      // Earlier groups sharing a spelling merge into this one, so three settings holding one
      // secret make one problem.
      for (const g of groups.filter((g) => [...g.spellings].some((s) => mine.spellings.has(s)))) {
        groups.splice(groups.indexOf(g), 1);
        g.names.forEach((n) => mine.names.add(n));
        mine.labels.unshift(...g.labels);
        g.spellings.forEach((s) => mine.spellings.add(s));
      }
      groups.push(mine);
    });
  }
  // The same key twice in COOKIE_SECRETS is only redundant; across settings it is reuse.
  return groups
    .filter((g) => g.names.size > 1)
    .map((g) => `${listed(g.labels)} hold the same secret (compared as written and decoded from hex or base64): give each setting its own`);
}
