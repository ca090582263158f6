// Text that came from the server (an app's name, an audit event's user agent, an error
// description, a proxy's page) is printed in the operator's terminal. Control characters
// could move the cursor, rewrite what was printed before or set the window title (ANSI
// escape sequences, C1 controls such as CSI \x9b), and bidi overrides could make a value
// read as another; line breaks and tabs would break a table's rows. Each is shown as a
// visible \u{…} escape instead, so what is printed is what was stored.
const UNSAFE = /[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]/gu;

export function clean(text: string): string {
  return text.replace(UNSAFE, (ch) => `\\u{${ch.codePointAt(0)!.toString(16)}}`);
}

/** One line of at most `max` characters, cleaned: for messages quoted from the server. */
export function cleanLine(text: string, max = 500): string {
  const trimmed = text.trim();
  return clean(trimmed.length > max ? `${trimmed.slice(0, max)}…` : trimmed);
}
