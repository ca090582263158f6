// Makes a race happen every time instead of by chance: the first two look-ups of a
// document of `model` return only once both have happened, so two requests that use the
// same code or token both read it before either marks it used. Once they have met, every
// look-up passes at once.
import type { OidcStore } from '../../src/storage/ports.ts';
import { withMethods } from './with-methods.ts';

export function bothReadBeforeEitherUses(inner: OidcStore, model: string): OidcStore {
  let first: (() => void) | undefined;
  let met = false;
  const meet = () =>
    new Promise<void>((resolve) => {
      if (met) return resolve();
      if (!first) return void (first = resolve);
      met = true;
      first();
      resolve();
    });
  return withMethods(inner, {
    find: (find) => async (appId, asked, id) => {
      const found = await find(appId, asked, id);
      if (asked === model) await meet();
      return found;
    },
  });
}
