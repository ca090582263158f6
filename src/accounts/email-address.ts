// The one definition of an acceptable email address. Addresses are the account ids (`sub`),
// so normalisation must be stable: trimmed and lowercased, one address, no header tricks.
import { domainToASCII } from 'node:url';

export const MAX_EMAIL_LENGTH = 254;
const MAX_LENGTH = MAX_EMAIL_LENGTH;
// Deliberately narrower than RFC 5322: dot-atom local part, dotted host labels.
const LOCAL = /^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/** Why an address is refused; the page says it in the person's language. */
export type EmailProblem = 'missing' | 'several' | 'too_long' | 'malformed';

/** `reason` in English for API callers; `problem` for pages, which say it in the person's language. */
export type EmailCheck = { ok: true; email: string } | { ok: false; problem: EmailProblem; reason: string };

export function normalizeEmail(input: unknown): EmailCheck {
  if (typeof input !== 'string') return { ok: false, problem: 'missing', reason: 'Enter your email address.' };
  if (/[\r\n\0]/.test(input)) return { ok: false, problem: 'several', reason: 'Enter a single email address.' };
  const email = input.trim().toLowerCase();
  if (email === '') return { ok: false, problem: 'missing', reason: 'Enter your email address.' };
  if (email.length > MAX_LENGTH) return { ok: false, problem: 'too_long', reason: `An email address has at most ${MAX_LENGTH} characters.` };
  if (/[\s,;]/.test(email)) return { ok: false, problem: 'several', reason: 'Enter a single email address.' };
  const at = email.lastIndexOf('@');
  const local = email.slice(0, at);
  const domain = email.slice(at + 1);
  const labels = domain.split('.');
  if (
    at < 1 ||
    local.length > 64 ||
    !LOCAL.test(local) ||
    labels.length < 2 ||
    !labels.every((l) => LABEL.test(l)) ||
    !/[a-z]/.test(labels.at(-1) ?? '')
  ) {
    return { ok: false, problem: 'malformed', reason: 'That does not look like an email address. Check it and try again.' };
  }
  return { ok: true, email };
}

const GMAIL = new Set(['gmail.com', 'googlemail.com']);

/**
 * The mailbox an address delivers to, as far as Postern can tell, for counting sign-in
 * links per inbox (never as an account id: the account keeps the address as typed).
 * `Ada+x@Example.com` reaches ada@example.com at most providers, and Gmail also ignores
 * dots and treats googlemail.com as gmail.com; a domain counts in its ASCII (punycode)
 * form. Folding too much only shares a budget between addresses; folding too little
 * hands an attacker a fresh budget per spelling, so the `+tag` goes for every domain.
 */
export function canonicalMailbox(email: string): string {
  const address = email.trim().toLowerCase();
  const at = address.lastIndexOf('@');
  let local = address.slice(0, at);
  const domain = domainToASCII(address.slice(at + 1)) || address.slice(at + 1);
  // A leading "+" is the whole name, not a tag.
  const plus = local.indexOf('+', 1);
  if (plus > 0) local = local.slice(0, plus);
  if (GMAIL.has(domain)) return `${local.replaceAll('.', '')}@gmail.com`;
  return `${local}@${domain}`;
}
