// A sign-in mail as the MIME text that goes over SMTP (RFC 5322, 2045–2047): one
// multipart/alternative of the plain text and the HTML, both quoted-printable UTF-8 (mostly
// ASCII stays readable, and spam filters score base64 text as disguised). Built in one pass
// over strings: nodemailer composing the same message through its chain of streams cost
// about a tenth of a sign-in's CPU. nodemailer still carries it (SMTP, DKIM signing).
import { randomBytes, randomUUID } from 'node:crypto';
import { domainToASCII } from 'node:url';
import addressparser from 'nodemailer/lib/addressparser/index.js';
import type { MailMessage } from './mailer.ts';

/** The sender, parsed once per mailer: its header text and its address for the envelope. */
export interface Sender {
  readonly header: string;
  readonly address: string;
  /** The right-hand side of Message-IDs. */
  readonly domain: string;
}

/** Parses MAIL_FROM ("Name <address>" or an address; loadConfig checked it). */
export function senderOf(from: string): Sender {
  const parsed = addressparser(from)[0];
  const raw = parsed && 'address' in parsed && parsed.address ? parsed.address : from.trim();
  const at = raw.lastIndexOf('@');
  const domain = domainToASCII(raw.slice(at + 1)) || raw.slice(at + 1);
  const address = `${raw.slice(0, at)}@${domain}`;
  const name = parsed?.name;
  return { header: name ? `${phrase(name)} <${address}>` : address, address, domain };
}

/** Extra header lines every sign-in mail carries (Auto-Submitted). */
export type ExtraHeaders = Readonly<Record<string, string>>;

/** The whole message, CRLF line ends, no line longer than 78 characters. */
export function mimeMessage(sender: Sender, message: MailMessage, extra: ExtraHeaders, now: Date): string {
  // In quoted-printable an "=" only starts a soft break or a hex escape, never "=_": no
  // body line can be the boundary.
  const boundary = `=_postern_${randomBytes(12).toString('hex')}`;
  const headers = [
    `From: ${sender.header}`,
    `To: ${message.to}`,
    `Subject: ${headerText(message.subject, 'Subject: '.length)}`,
    `Message-ID: <${randomUUID()}@${sender.domain}>`,
    `Date: ${now.toUTCString().replace(/GMT$/, '+0000')}`,
    'MIME-Version: 1.0',
    ...Object.entries(extra).map(([name, value]) => `${name}: ${headerText(value, name.length + 2)}`),
    `Content-Type: multipart/alternative;\r\n boundary="${boundary}"`,
  ];
  const part = (type: string, body: string) =>
    `--${boundary}\r\nContent-Type: ${type}; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n${quotedPrintable(body)}\r\n`;
  return `${headers.join('\r\n')}\r\n\r\n${part('text/plain', message.text)}${part('text/html', message.html)}--${boundary}--\r\n`;
}

/**
 * Text a mail program shows as written: printable ASCII with no `=?`, which would start an
 * RFC 2047 encoded word that mail programs decode (an app's name such as
 * `Acme =?UTF-8?B?4oCu?=` would show a character its rules refuse, a right-to-left override).
 */
const shownAsWritten = (value: string) => /^[\x20-\x7e]*$/.test(value) && !value.includes('=?');

/**
 * An unstructured header's value: as it is when it shows as written and fits the line,
 * otherwise RFC 2047 encoded words (UTF-8, base64) on folded lines. A CR or LF in the value
 * (a brand name, say) is encoded like any other character, so it cannot start a header.
 */
export function headerText(value: string, used: number): string {
  if (shownAsWritten(value) && used + value.length <= 78) return value;
  return encodedWords(value).join('\r\n ');
}

/** A display name: a quoted string when it shows as written, encoded words otherwise. */
function phrase(name: string): string {
  return shownAsWritten(name) ? `"${name.replace(/["\\]/g, '\\$&')}"` : encodedWords(name).join('\r\n ');
}

/**
 * Encoded words of 64 characters at most (39 bytes of UTF-8, whole characters only), so a
 * header's first line, its name included, stays within 76 (RFC 2047 2).
 */
function encodedWords(value: string): string[] {
  const words: string[] = [];
  let chunk = '';
  let bytes = 0;
  for (const char of value) {
    const size = Buffer.byteLength(char);
    if (bytes + size > 39) {
      words.push(chunk);
      chunk = '';
      bytes = 0;
    }
    chunk += char;
    bytes += size;
  }
  if (chunk || !words.length) words.push(chunk);
  return words.map((word) => `=?UTF-8?B?${Buffer.from(word).toString('base64')}?=`);
}

const HEX = Array.from({ length: 256 }, (_, b) => `=${b.toString(16).toUpperCase().padStart(2, '0')}`);

/**
 * Quoted-printable (RFC 2045 6.7): line breaks become CRLF; every line, soft breaks
 * included, stays within 76 characters; "=", control and non-ASCII bytes, and a space or
 * tab ending a line are escaped.
 */
export function quotedPrintable(text: string): string {
  const out: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    const bytes = Buffer.from(line);
    let encoded = '';
    let column = 0;
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i]!;
      const literal = (b >= 33 && b <= 126 && b !== 61) || ((b === 32 || b === 9) && i < bytes.length - 1);
      const piece = literal ? String.fromCharCode(b) : HEX[b]!;
      if (column + piece.length > 75) {
        encoded += '=\r\n';
        column = 0;
      }
      encoded += piece;
      column += piece.length;
    }
    out.push(encoded);
  }
  return out.join('\r\n');
}
