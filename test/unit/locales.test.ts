// The message catalogues, how a language is chosen, and the colour rules of the pages.
import { expect } from 'chai';
import fc from 'fast-check';
import { contrast, DARK_BUTTON_TEXT, DARK_CARD, darkAccent, accentProblem, accentRules, LIGHT_BUTTON_TEXT } from '../../src/text/colour.ts';
import { chooseLanguage, directionOf, durationIn, fromAcceptLanguage, fromUiLocales, LANGUAGES, messagesFor } from '../../src/text/language.ts';

describe('message catalogues', () => {
  const english = messagesFor('en');
  const keys = Object.keys(english).sort();

  for (const language of LANGUAGES) {
    it(`${language}: has exactly the keys of en, and every text is a non-empty sentence of its own`, () => {
      const catalogue = messagesFor(language);
      expect(Object.keys(catalogue).sort(), 'missing or extra keys').to.deep.equal(keys);
      for (const key of keys) {
        const value = (catalogue as unknown as Record<string, unknown>)[key];
        const english_ = (english as unknown as Record<string, unknown>)[key];
        expect(typeof value, key).to.equal(typeof english_);
        const rendered = typeof value === 'function' ? String((value as (...a: unknown[]) => unknown)('Acme', 3)) : String(value);
        expect(rendered.trim(), key).to.not.equal('');
        if (language !== 'en' && typeof value !== 'function') expect(rendered, `${key} is translated`).to.not.equal(String(english_));
      }
    });
  }

  it('escapes what a text with markup interpolates', () => {
    for (const language of LANGUAGES) {
      expect(messagesFor(language).linkOnItsWay('<img src=x>@example.com').toString()).to.include('&lt;img src=x&gt;').and.not.include('<img');
    }
  });

  it('writes Arabic right to left and the others left to right', () => {
    expect(LANGUAGES.map(directionOf)).to.deep.equal(['ltr', 'ltr', 'ltr', 'ltr', 'rtl']);
  });

  it('spells durations with Intl in the language: never "1 minutes"', () => {
    expect(durationIn('en', 60)).to.equal('1 minute');
    expect(durationIn('en', 900)).to.equal('15 minutes');
    expect(durationIn('en', 5400)).to.equal('1 hour, 30 minutes');
    expect(durationIn('de', 900)).to.equal('15 Minuten');
    expect(durationIn('fr', 86400).replace(/\s/g, ' ')).to.equal('1 jour');
    expect(durationIn('es', 120)).to.equal('2 minutos');
    expect(durationIn('ar', 900)).to.include('دقيقة');
    expect(durationIn('en', 20), 'never zero').to.equal('1 minute');
    // Never more than it lasts: 90 seconds is not "2 minutes", 1 799 not "30 minutes".
    expect(durationIn('en', 90)).to.equal('1 minute');
    expect(durationIn('en', 1799)).to.equal('29 minutes');
  });

  it('spells a duration the same way again, in each language, past the bound of what it keeps spelled', () => {
    // Spelled afresh by Intl, as the function did before it kept its answers.
    const fresh = (language: (typeof LANGUAGES)[number], minutes: number) => {
      const units = (unit: string) => new Intl.NumberFormat(language, { style: 'unit', unit, unitDisplay: 'long' });
      const parts = [
        ['day', Math.floor(minutes / 1440)],
        ['hour', Math.floor((minutes % 1440) / 60)],
        ['minute', minutes % 60],
      ] as const;
      return new Intl.ListFormat(language, { type: 'unit', style: 'long' }).format(parts.filter(([, n]) => n > 0).map(([unit, n]) => units(unit).format(n)));
    };
    // 5 languages × 300 lifetimes: more than are kept, so the keeping starts over on the way.
    for (let round = 0; round < 2; round++) {
      for (const language of LANGUAGES) {
        for (let minutes = 1; minutes <= 300; minutes += 1) expect(durationIn(language, minutes * 60)).to.equal(fresh(language, minutes));
      }
    }
    expect(durationIn('de', 900)).to.equal('15 Minuten');
  });
});

describe('choosing the language', () => {
  it('takes the first supported ui_locales tag, in any case and region', () => {
    expect(fromUiLocales('DE-ch')).to.equal('de');
    expect(fromUiLocales('tlh fr-CA en')).to.equal('fr');
    expect(fromUiLocales('ar_EG')).to.equal('ar');
    expect(fromUiLocales('tlh  x-pirate')).to.equal(undefined);
    expect(fromUiLocales(['de'])).to.equal(undefined);
  });

  it('reads Accept-Language by weight, skipping q=0 and languages it does not have', () => {
    expect(fromAcceptLanguage('fr-CH, fr;q=0.9, en;q=0.8')).to.equal('fr');
    expect(fromAcceptLanguage('ja, en;q=0.5, ES;Q=0.7')).to.equal('es');
    expect(fromAcceptLanguage('de;q=0, en;q=0.1')).to.equal('en');
    expect(fromAcceptLanguage('*')).to.equal(undefined);
    expect(fromAcceptLanguage('de;q=abc')).to.equal('de');
  });

  it('prefers ui_locales, then Accept-Language, then the app default, then English', () => {
    expect(chooseLanguage({ uiLocales: 'es', acceptLanguage: 'de', fallback: 'fr' })).to.equal('es');
    expect(chooseLanguage({ uiLocales: 'tlh', acceptLanguage: 'de', fallback: 'fr' })).to.equal('de');
    expect(chooseLanguage({ acceptLanguage: 'ja', fallback: 'fr' })).to.equal('fr');
    expect(chooseLanguage({})).to.equal('en');
  });

  it('reads a hostile header only so far and never throws', () => {
    fc.assert(fc.property(fc.string({ maxLength: 2000 }), fc.anything(), (header, other) => {
      expect(() => chooseLanguage({ uiLocales: other, acceptLanguage: header })).to.not.throw();
    }));
    expect(fromAcceptLanguage(`${'x-foo;q=0.5,'.repeat(100)}de`), 'past the first 512 characters').to.equal(undefined);
  });
});

describe('accent colours', () => {
  it('computes WCAG contrast', () => {
    expect(contrast('#ffffff', '#000000')).to.be.closeTo(21, 0.01);
    expect(contrast('#1f4fd1', '#ffffff')).to.be.greaterThan(4.5);
    // The old focus ring on white.
    expect(contrast('#8ab4ff', '#ffffff')).to.be.lessThan(3);
  });

  it('refuses a colour white button text cannot be read on, and malformed ones', () => {
    expect(accentProblem('#1f4fd1')).to.equal(undefined);
    expect(accentProblem('#ffff00')).to.match(/contrast of 1\.07:1/);
    expect(accentProblem('#87ceeb')).to.match(/4\.5:1/);
    for (const bad of ['red;}', '#FFF', '#1F4FD1', '1f4fd1', '#1f4fd1;', '#1f4fd1 ', 'url(x)']) expect(accentProblem(bad), bad).to.be.a('string');
    expect(() => accentRules('red;}')).to.throw(TypeError);
  });

  it('derives a dark-mode accent that reads on the dark card, for every accepted colour', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffff }), (n) => {
        const hex = `#${n.toString(16).padStart(6, '0')}`;
        if (accentProblem(hex)) return;
        expect(contrast(hex, LIGHT_BUTTON_TEXT)).to.be.at.least(4.5);
        const dark = darkAccent(hex);
        expect(contrast(dark, DARK_CARD), `${hex} → ${dark}`).to.be.at.least(4.5);
        expect(contrast(dark, DARK_BUTTON_TEXT)).to.be.at.least(4.5);
      }),
      { numRuns: 2000 },
    );
  });
});
