// How a setting's text becomes its value. Each parser carries the phrase saying what it
// accepts, so docs/configuration.md and the start-up problem say the same thing from one
// place (see settings-table.ts and load.ts).

export interface Parser<T> {
  /** What is accepted, in markdown, phrased to follow "must be". */
  readonly allowed: string;
  /** The value of `raw` (already trimmed and not empty), or undefined when it is not allowed. */
  parse(raw: string): T | undefined;
}

export function wholeNumber(min: number, max: number): Parser<number> {
  return {
    allowed: `a whole number from ${min} to ${max}`,
    parse: (raw) => (/^\d+$/.test(raw) && Number(raw) >= min && Number(raw) <= max ? Number(raw) : undefined),
  };
}

export function oneOf<const V extends string>(values: readonly V[]): Parser<V> {
  return {
    allowed: `one of ${values.map((v) => `\`${v}\``).join(', ')}`,
    parse: (raw) => values.find((v) => v === raw),
  };
}

export const trueOrFalse: Parser<boolean> = {
  allowed: '`true` or `false`',
  parse: (raw) => (raw === 'true' ? true : raw === 'false' ? false : undefined),
};

/**
 * A URL with one of `protocols` (e.g. 'redis:'), kept as given; `shape` adds a further rule
 * and may return another spelling (e.g. the origin).
 */
export function url(
  protocols: readonly string[],
  shape?: { readonly allowed: string; pick(url: URL, raw: string): string | undefined },
): Parser<string> {
  const schemes = protocols.map((p) => `\`${p}//\``).join(' or ');
  return {
    allowed: `a URL starting with ${schemes}${shape ? `, ${shape.allowed}` : ''}`,
    parse: (raw) => {
      const parsed = URL.parse(raw);
      if (!parsed || !protocols.includes(parsed.protocol)) return undefined;
      return shape ? shape.pick(parsed, raw) : raw;
    },
  };
}

export function atLeast(length: number): Parser<string> {
  return { allowed: `at least ${length} characters`, parse: (raw) => (raw.length >= length ? raw : undefined) };
}

export function keyList(length: number): Parser<readonly string[]> {
  return {
    allowed: `a comma-separated list of keys of at least ${length} characters each`,
    parse: (raw) => {
      const keys = raw.split(',').map((k) => k.trim());
      return keys.every((k) => k.length >= length) ? Object.freeze(keys) : undefined;
    },
  };
}

export const key256: Parser<Buffer> = {
  allowed: '32 bytes as 64 hex characters or base64/base64url',
  parse: (raw) => {
    if (/^[0-9a-fA-F]{64}$/.test(raw)) return Buffer.from(raw, 'hex');
    if (!/^[A-Za-z0-9+/_-]{43}=?$/.test(raw)) return undefined;
    const key = Buffer.from(raw.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    return key.length === 32 ? key : undefined;
  },
};

export const mailbox: Parser<string> = {
  allowed: 'an address like `user@example.com` or `Name <user@example.com>`',
  // No line breaks: the value goes into a mail header.
  parse: (raw) =>
    !/[\r\n]/.test(raw) && /^(?:[^<>@]*<[^<>@\s]+@[^<>@\s]+>|[^<>@\s]+@[^<>@\s]+)$/.test(raw) ? raw : undefined,
};
