// How a setting's text becomes its value. Each parser carries the phrase saying what it
// accepts, so docs/configuration.md and the start-up problem say the same thing from one
// place (see settings-table.ts and load.ts).
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { estimatedBits } from './entropy.ts';

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

/**
 * Fewest bits a text secret's characters may carry (see entropy.ts). Random text of the
 * shortest length allowed stays above it: 32 random hex characters fall below 80 with a
 * probability of 2e-9 (counted exactly over their letter counts; 96 would refuse one in
 * 10,000), UUIDs and base64 never in practice, `openssl rand -base64 32` sits near 200.
 * A block of up to 16 characters repeated, or 32 characters of five kinds or fewer, cannot
 * reach it.
 */
const MIN_TEXT_BITS = 80;
/**
 * Fewest bits the 32 bytes of a key may carry: random keys estimate 140 to 160 and fall
 * below 128 with a probability of 1.5e-11, while an all-zero key, one repeated byte, a
 * repeated block or fewer than 16 distinct byte values cannot reach it.
 */
const MIN_KEY_BITS = 128;

const RANDOM_TEXT = `random: not one character or a block repeated, nor so few kinds of character that they carry under ${MIN_TEXT_BITS} bits`;
const randomText = (length: number) => (text: string) => text.length >= length && estimatedBits(text) >= MIN_TEXT_BITS;

/** A text secret such as a bearer token. */
export function secretText(length: number): Parser<string> {
  const valid = randomText(length);
  return {
    allowed: `at least ${length} characters, ${RANDOM_TEXT} (e.g. \`openssl rand -base64 32\`)`,
    parse: (raw) => (valid(raw) ? raw : undefined),
  };
}

/**
 * A token sent as `Authorization: Bearer <token>`: a text secret of visible ASCII only.
 * The server takes nothing else after "Bearer " (src/http/bearer-token.ts), so a token
 * with a space or a non-ASCII letter would start fine and then never authenticate.
 */
export function bearerToken(length: number): Parser<string> {
  const text = secretText(length);
  return {
    allowed: `${text.allowed}, of visible ASCII characters only (no spaces)`,
    parse: (raw) => (/^[\x21-\x7e]+$/.test(raw) ? text.parse(raw) : undefined),
  };
}

/** Several text secrets, comma-separated. */
export function secretTextList(length: number): Parser<readonly string[]> {
  const valid = randomText(length);
  return {
    allowed: `a comma-separated list of keys, each at least ${length} characters, ${RANDOM_TEXT}`,
    parse: (raw) => {
      const keys = raw.split(',').map((k) => k.trim());
      return keys.every(valid) ? Object.freeze(keys) : undefined;
    },
  };
}

export const key256: Parser<Buffer> = {
  allowed: `32 random bytes as 64 hex characters or base64/base64url (not all zero, one byte or a block repeated, nor so few distinct bytes that they carry under ${MIN_KEY_BITS} bits; e.g. \`openssl rand -hex 32\`)`,
  parse: (raw) => {
    const key = bytesOf(raw);
    return key && estimatedBits(key) >= MIN_KEY_BITS ? key : undefined;
  },
};

function bytesOf(raw: string): Buffer | undefined {
  if (/^[0-9a-fA-F]{64}$/.test(raw)) return Buffer.from(raw, 'hex');
  if (!/^[A-Za-z0-9+/_-]{43}=?$/.test(raw)) return undefined;
  const key = Buffer.from(raw.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  return key.length === 32 ? key : undefined;
}

export const mailbox: Parser<string> = {
  allowed: 'an address like `user@example.com` or `Name <user@example.com>`',
  // No line breaks: the value goes into a mail header.
  parse: (raw) =>
    !/[\r\n]/.test(raw) && /^(?:[^<>@]*<[^<>@\s]+@[^<>@\s]+>|[^<>@\s]+@[^<>@\s]+)$/.test(raw) ? raw : undefined,
};

const LABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';

/** A DNS name of two labels or more (IDN names in their xn-- form), lowercased. */
export const domainName: Parser<string> = {
  allowed: 'a domain name such as `example.com` (IDN names in their `xn--` form)',
  parse: (raw) => {
    const name = raw.toLowerCase();
    return name.length <= 253 && new RegExp(`^${LABEL}(?:\\.${LABEL})+$`).test(name) ? name : undefined;
  },
};

/** One DNS label or several, dot-separated: what goes before `._domainkey.` in a DKIM record. */
export const dnsLabels: Parser<string> = {
  allowed: 'one or more DNS labels such as `postern` or `2025.mail` (letters, digits, `-`)',
  parse: (raw) => {
    const labels = raw.toLowerCase();
    return labels.length <= 63 * 4 && new RegExp(`^${LABEL}(?:\\.${LABEL})*$`).test(labels) ? labels : undefined;
  },
};

/**
 * An unencrypted RSA private key in PEM (PKCS#1 or PKCS#8) of at least `minBits`, with real
 * line breaks or `\n` escapes (how a PEM survives a one-line environment variable); the value
 * is the key as PKCS#8 PEM. RSA because DKIM signers and verifiers agree on rsa-sha256 only.
 */
export function rsaPrivateKey(minBits: number): Parser<string> {
  return {
    allowed: `an unencrypted RSA private key of at least ${minBits} bits in PEM (e.g. \`openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048\`)`,
    parse: (raw) => {
      try {
        const key = createPrivateKey(raw.replaceAll('\\n', '\n'));
        const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
        return key.asymmetricKeyType === 'rsa' && bits >= minBits ? String(key.export({ type: 'pkcs8', format: 'pem' })) : undefined;
      } catch {
        return undefined;
      }
    },
  };
}

const CERTIFICATE = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g;

/**
 * One or more X.509 certificates in PEM and nothing else, with real line breaks or `\n`
 * escapes; the value is the certificates, each as given, one after the other.
 */
export const pemCertificates: Parser<string> = {
  allowed: 'one or more X.509 certificates in PEM (`-----BEGIN CERTIFICATE-----` …)',
  parse: (raw) => {
    const text = raw.replaceAll('\\n', '\n');
    const blocks = text.match(CERTIFICATE);
    // Anything between or around the certificates (a key pasted in by mistake) is refused.
    if (!blocks || text.replace(CERTIFICATE, '').trim()) return undefined;
    try {
      for (const block of blocks) new X509Certificate(block);
    } catch {
      return undefined;
    }
    return `${blocks.join('\n')}\n`;
  },
};

/**
 * An unencrypted private key in PEM (PKCS#1, SEC 1 or PKCS#8; RSA, EC or Ed25519), with real
 * line breaks or `\n` escapes; the value is the key as PKCS#8 PEM.
 */
export const pemPrivateKey: Parser<string> = {
  allowed: 'an unencrypted private key in PEM (`-----BEGIN PRIVATE KEY-----` …)',
  parse: (raw) => {
    try {
      return String(createPrivateKey(raw.replaceAll('\\n', '\n')).export({ type: 'pkcs8', format: 'pem' }));
    } catch {
      return undefined;
    }
  },
};
