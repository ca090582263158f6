// An app's accent colour and the rules it must meet: WCAG 2.2 contrast (1.4.3, 4.5:1 for
// the button text on it; 1.4.11, 3:1 for the focus ring drawn in it) in light and in
// dark mode. The admin chooses the light-mode colour; the dark-mode one is derived from
// it, lightened until it reads on the dark card, so both always pass.
export const DEFAULT_ACCENT = '#1f4fd1';
/** Text on an accent-coloured button in light mode. */
export const LIGHT_BUTTON_TEXT = '#ffffff';
/** The card in dark mode; the dark accent is checked against it. */
export const DARK_CARD = '#1c1f24';
/** Text on an accent-coloured button in dark mode: darker than the card, so at least as readable. */
export const DARK_BUTTON_TEXT = '#0f1115';
export const MIN_TEXT_CONTRAST = 4.5;

const HEX = /^#[0-9a-f]{6}$/;

export function isHexColour(value: string): boolean {
  return HEX.test(value);
}

function channels(hex: string): [number, number, number] {
  return [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)) as [number, number, number];
}

function toHex(rgb: readonly number[]): string {
  return `#${rgb.map((c) => Math.round(c).toString(16).padStart(2, '0')).join('')}`;
}

/** WCAG 2.2 relative luminance. */
export function luminance(hex: string): number {
  const [r, g, b] = channels(hex).map((c) => {
    const s = c / 255;
    return s <= 0.04045 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  }) as [number, number, number];
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

export function contrast(a: string, b: string): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number];
  return (hi + 0.05) / (lo + 0.05);
}

/** The dark-mode accent: `hex` mixed with white in the smallest step that reads on the dark card. */
export function darkAccent(hex: string): string {
  const rgb = channels(hex);
  for (let step = 0; step <= 20; step++) {
    const mixed = toHex(rgb.map((c) => c + ((255 - c) * step) / 20));
    if (contrast(mixed, DARK_CARD) >= MIN_TEXT_CONTRAST) return mixed;
  }
  return '#ffffff';
}

/** Why `hex` cannot be an accent; undefined when it can (lower-case #rrggbb expected). */
export function accentProblem(hex: string): string | undefined {
  if (!isHexColour(hex)) return 'must be a colour written #rrggbb';
  const light = contrast(hex, LIGHT_BUTTON_TEXT);
  if (light < MIN_TEXT_CONTRAST) {
    return `has a contrast of ${light.toFixed(2)}:1 with the white button text; WCAG AA needs ${MIN_TEXT_CONTRAST}:1, so choose a darker colour`;
  }
  return undefined;
}

/**
 * The stylesheet rules that paint a page in `hex`: accent and focus ring in light mode, the
 * derived accent with dark text in dark mode. Only ever called with a checked colour.
 */
export function accentRules(hex: string): string {
  if (accentProblem(hex)) throw new TypeError(`not an accent colour: ${hex}`);
  return `:root{--accent:${hex};--on-accent:${LIGHT_BUTTON_TEXT}}
@media (prefers-color-scheme:dark){:root{--accent:${darkAccent(hex)};--on-accent:${DARK_BUTTON_TEXT}}}
`;
}
