// A DKIM verifier (RFC 6376) for the one profile Postern signs with: rsa-sha256 with
// relaxed/relaxed canonicalisation. It recomputes the body hash and the signed header
// block from the message as received and checks the signature with the public key that
// would be published at SELECTOR._domainkey.DOMAIN, so a test can say "a receiver would
// accept this signature" without a DNS server or a mail library that verifies.
import { createHash, verify, type KeyObject } from 'node:crypto';

interface Field {
  readonly name: string;
  /** Everything after the first colon, folding line breaks included. */
  readonly value: string;
}

export interface DkimResult {
  readonly domain: string;
  readonly selector: string;
  /** The header fields the signature covers, lowercased, as listed in `h=`. */
  readonly signedHeaders: readonly string[];
}

function fieldsOf(head: string): Field[] {
  const fields: string[] = [];
  for (const line of head.split('\r\n')) {
    if (/^[ \t]/.test(line) && fields.length) fields[fields.length - 1] += `\r\n${line}`;
    else fields.push(line);
  }
  return fields.map((f) => ({ name: f.slice(0, f.indexOf(':')), value: f.slice(f.indexOf(':') + 1) }));
}

/** RFC 6376 §3.4.2: name lowercased, folding removed, runs of whitespace one space, trimmed. */
const relaxedHeader = (field: Field) =>
  `${field.name.trim().toLowerCase()}:${field.value.replace(/\r\n/g, '').replace(/[ \t]+/g, ' ').trim()}`;

/** RFC 6376 §3.4.4: trailing whitespace dropped, runs of whitespace one space, trailing empty lines dropped. */
function relaxedBody(body: string): string {
  const lines = body.split('\r\n').map((line) => line.replace(/[ \t]+/g, ' ').replace(/ $/, ''));
  while (lines.length && lines.at(-1) === '') lines.pop();
  return lines.length ? `${lines.join('\r\n')}\r\n` : '';
}

/** Verifies the message's first DKIM-Signature with `publicKey`; throws saying what does not match. */
export function verifyDkim(raw: Buffer, publicKey: KeyObject): DkimResult {
  const text = raw.toString('latin1');
  const split = text.indexOf('\r\n\r\n');
  if (split < 0) throw new Error('no blank line between header and body');
  const fields = fieldsOf(text.slice(0, split));
  const signature = fields.find((f) => f.name.trim().toLowerCase() === 'dkim-signature');
  if (!signature) throw new Error('no DKIM-Signature header');
  const tags = new Map(
    signature.value
      .split(';')
      .map((t) => t.trim())
      .filter(Boolean)
      .map((t) => [t.slice(0, t.indexOf('=')).trim(), t.slice(t.indexOf('=') + 1).replace(/\s+/g, '')] as const),
  );
  if (tags.get('v') !== '1' || tags.get('a') !== 'rsa-sha256' || tags.get('c') !== 'relaxed/relaxed' || tags.has('l')) {
    throw new Error(`unexpected DKIM profile: v=${tags.get('v')} a=${tags.get('a')} c=${tags.get('c')} l=${tags.get('l')}`);
  }
  const bodyHash = createHash('sha256').update(relaxedBody(text.slice(split + 4)), 'latin1').digest('base64');
  if (bodyHash !== tags.get('bh')) throw new Error('body hash does not match: the body was changed after signing');

  // Each name in h= takes the last instance of that field not taken yet (§5.4.2).
  const signedHeaders = (tags.get('h') ?? '').toLowerCase().split(':').filter(Boolean);
  const unused = [...fields];
  const block = signedHeaders.map((name) => {
    const index = unused.findLastIndex((f) => f.name.trim().toLowerCase() === name);
    return index < 0 ? '' : `${relaxedHeader(unused.splice(index, 1)[0]!)}\r\n`;
  });
  // The signature's own field, with the b= value emptied and no final line break.
  const unsigned = { name: signature.name, value: signature.value.replace(/(^|;)(\s*b\s*=)[^;]*/, '$1$2') };
  const data = block.join('') + relaxedHeader(unsigned);
  const valid = verify('RSA-SHA256', Buffer.from(data, 'latin1'), publicKey, Buffer.from(tags.get('b') ?? '', 'base64'));
  if (!valid) throw new Error('signature does not verify over the signed header fields');
  return { domain: tags.get('d') ?? '', selector: tags.get('s') ?? '', signedHeaders };
}
