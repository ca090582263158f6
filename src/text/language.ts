// The languages of the hosted pages and of the sign-in mail, and how one is chosen for a
// person: what the app asked for (`ui_locales`), else what the browser prefers
// (Accept-Language), else the app's default. Only the primary subtag counts ("de-CH" is
// German), in any letter case. Durations are spelled by Intl in the chosen language.
import { ar } from './locales/ar.ts';
import { de } from './locales/de.ts';
import { en } from './locales/en.ts';
import { es } from './locales/es.ts';
import { fr } from './locales/fr.ts';
import type { Messages } from './locales/messages.ts';

export type { Messages };

export const LANGUAGES = ['en', 'de', 'fr', 'es', 'ar'] as const;
export type Language = (typeof LANGUAGES)[number];
export const DEFAULT_LANGUAGE: Language = 'en';

const CATALOGUES: Record<Language, Messages> = { en, de, fr, es, ar };
const RIGHT_TO_LEFT: ReadonlySet<Language> = new Set(['ar']);

/** Headers and parameters are read this far only: a preference list is short. */
const MAX_PREFERENCE_LENGTH = 512;

export function isLanguage(value: unknown): value is Language {
  return typeof value === 'string' && (LANGUAGES as readonly string[]).includes(value);
}

export function messagesFor(language: Language): Messages {
  return CATALOGUES[language];
}

export function directionOf(language: Language): 'ltr' | 'rtl' {
  return RIGHT_TO_LEFT.has(language) ? 'rtl' : 'ltr';
}

function supported(tag: string): Language | undefined {
  const primary = tag.trim().split(/[-_]/)[0]!.toLowerCase();
  return isLanguage(primary) ? primary : undefined;
}

/** `ui_locales` (OpenID Connect Core §3.1.2.1): space-separated tags, most preferred first. */
export function fromUiLocales(value: unknown): Language | undefined {
  if (typeof value !== 'string') return undefined;
  for (const tag of value.slice(0, MAX_PREFERENCE_LENGTH).split(' ')) {
    const language = supported(tag);
    if (language) return language;
  }
  return undefined;
}

/** Accept-Language (RFC 9110 §12.5.4): the supported language with the highest weight; ties keep header order. */
export function fromAcceptLanguage(header: unknown): Language | undefined {
  if (typeof header !== 'string') return undefined;
  let best: { language: Language; q: number } | undefined;
  for (const part of header.slice(0, MAX_PREFERENCE_LENGTH).split(',')) {
    const [tag = '', ...params] = part.split(';');
    const weight = params.map((p) => /^\s*q\s*=\s*([01](?:\.\d{0,3})?)\s*$/i.exec(p)?.[1]).find((q) => q !== undefined);
    const q = weight === undefined ? 1 : Number(weight);
    const language = supported(tag);
    if (language && q > 0 && (!best || q > best.q)) best = { language, q };
  }
  return best?.language;
}

export interface LanguageSources {
  readonly uiLocales?: unknown;
  readonly acceptLanguage?: unknown;
  readonly fallback?: Language | undefined;
}

export function chooseLanguage(sources: LanguageSources): Language {
  return fromUiLocales(sources.uiLocales) ?? fromAcceptLanguage(sources.acceptLanguage) ?? sources.fallback ?? DEFAULT_LANGUAGE;
}

type DurationUnit = 'day' | 'hour' | 'minute';

/**
 * Durations already spelled, by language and whole minutes. Every check-email page and
 * sign-in mail spells its app's link lifetime, and Intl costs more than the rest of the
 * text (building its formatters loads the locale's data, tens of microseconds each;
 * formatting with them a few more); the few lifetimes apps use make a handful of entries.
 * Bounded anyway, since the lifetime is a setting.
 */
const spelled = new Map<string, string>();
const MAX_SPELLED = 256;

/**
 * "15 minutes", "1 Stunde, 30 Minuten": whole minutes, at least one; each unit spelled by
 * Intl. Rounded down: a link said to last 2 minutes must not stop working at 90 seconds.
 */
export function durationIn(language: Language, seconds: number): string {
  const total = Math.max(1, Math.floor(seconds / 60));
  const key = `${language}:${total}`;
  let text = spelled.get(key);
  if (text === undefined) {
    if (spelled.size >= MAX_SPELLED) spelled.clear();
    text = spellMinutes(language, total);
    spelled.set(key, text);
  }
  return text;
}

function spellMinutes(language: Language, total: number): string {
  const parts: [DurationUnit, number][] = [
    ['day', Math.floor(total / 1440)],
    ['hour', Math.floor((total % 1440) / 60)],
    ['minute', total % 60],
  ];
  const unit = (unit: DurationUnit, n: number) => new Intl.NumberFormat(language, { style: 'unit', unit, unitDisplay: 'long' }).format(n);
  return new Intl.ListFormat(language, { type: 'unit', style: 'long' }).format(parts.filter(([, n]) => n > 0).map(([name, n]) => unit(name, n)));
}
