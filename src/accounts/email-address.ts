// The one definition of an acceptable email address. Addresses are the account ids (`sub`),
// so normalisation must be stable: trimmed and lowercased, one address, no header tricks.
const MAX_LENGTH = 254;
// Deliberately narrower than RFC 5322: dot-atom local part, dotted host labels.
const LOCAL = /^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

export type EmailCheck = { ok: true; email: string } | { ok: false; reason: string };

export function normalizeEmail(input: unknown): EmailCheck {
  if (typeof input !== 'string') return { ok: false, reason: 'Enter your email address.' };
  if (/[\r\n\0]/.test(input)) return { ok: false, reason: 'Enter a single email address.' };
  const email = input.trim().toLowerCase();
  if (email === '') return { ok: false, reason: 'Enter your email address.' };
  if (email.length > MAX_LENGTH) return { ok: false, reason: `An email address has at most ${MAX_LENGTH} characters.` };
  if (/[\s,;]/.test(email)) return { ok: false, reason: 'Enter a single email address.' };
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
    return { ok: false, reason: 'That does not look like an email address. Check it and try again.' };
  }
  return { ok: true, email };
}
