// Auto-escaping HTML templates: html`<p>${value}</p>`. Every interpolated value is escaped
// unless it is itself the result of html`…`, so a view cannot forget to escape, and markup
// is only ever assembled from template literals written in our own source.
//
// Escaping makes a value safe as element text and as a *quoted* attribute value. It does
// not make a value safe inside <script> or <style>, in an unquoted attribute (rejected
// below), or as a URL (a "javascript:" href stays a "javascript:" href): callers put only
// URLs they built themselves into href and action.
//
// Dependency-free on purpose: any layer may import it.

/** Markup produced by `html` (or, once, by `raw`). Nominal: no other value has this type. */
class Markup {
  readonly #markup: string;

  constructor(markup: string) {
    this.#markup = markup;
  }

  toString(): string {
    return this.#markup;
  }
}

// Only the type leaves this module, so no other file can construct trusted markup.
export type { Markup as SafeHtml };

/** What may be interpolated: text (escaped), markup, nothing, or a list of these. */
export type HtmlValue = string | number | bigint | Markup | null | undefined | false | readonly HtmlValue[];

const ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
  // Old browsers closed attribute values at a backtick.
  '`': '&#96;',
};

function escape(text: string): string {
  return text.replace(/[&<>"'`]/g, (c) => ENTITIES[c] ?? c);
}

// Takes unknown: the types stop most mistakes, this stops the rest (values typed `any`).
function render(value: unknown): string {
  if (value instanceof Markup) return value.toString();
  if (value === undefined || value === null || value === false) return '';
  if (Array.isArray(value)) return value.map(render).join('');
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'bigint') return escape(String(value));
  // `true`, objects and functions would print as "true" or "[object Object]": always a bug.
  throw new TypeError(`html: cannot interpolate ${value === true ? 'true' : `a value of type ${typeof value}`}`);
}

// An interpolation right after `name=` is an unquoted attribute value, where escaping does
// not stop a space from starting a new attribute. Checked once per template literal.
const checked = new WeakSet<TemplateStringsArray>();
const UNQUOTED_ATTRIBUTE = /[\w:-]=\s*$/;

function assertQuoted(strings: TemplateStringsArray): void {
  if (checked.has(strings)) return;
  const at = strings.slice(0, -1).findIndex((part) => UNQUOTED_ATTRIBUTE.test(part));
  if (at !== -1) throw new SyntaxError(`html: quote the attribute value after ${JSON.stringify(strings[at]?.slice(-30))}`);
  checked.add(strings);
}

/** Tagged template: the literal parts are trusted markup, every `${value}` is escaped unless it is SafeHtml. */
export function html(strings: TemplateStringsArray, ...values: readonly HtmlValue[]): Markup {
  assertQuoted(strings);
  let out = strings[0] ?? '';
  values.forEach((value, i) => {
    out += render(value) + (strings[i + 1] ?? '');
  });
  return new Markup(out);
}

/**
 * Trusts markup that was not written as an html`…` literal. The one legitimate use is
 * markup a trusted library hands us ready-made (oidc-provider's logout form, and the one
 * script of its self-submitting form, which the CSP allows by its hash); never pass
 * anything that contains request, client or stored data of our own.
 */
export function raw(markup: string): Markup {
  return new Markup(markup);
}
