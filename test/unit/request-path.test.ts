// request-path: the generous "is this the admin API?" fold and the strict canonical-path
// test. A fast-check property ties both to the real admin router: any path the router
// would route to an admin handler is classified as admin, however it was spelt.
import { expect } from 'chai';
import fc from 'fast-check';
import { adminRouter } from '../../src/admin/admin-routes.ts';
import { foldedPathOf, foldedSegments, isAdminPath, isAdminRequest, isCanonicalPath } from '../../src/http/request-path.ts';
import { fillPath, routesOf } from '../helpers/routes.ts';

const ADMIN_SPELLINGS = [
  '/admin',
  '/admin/',
  '/admin/apps',
  '/ADMIN/apps',
  '/Admin/Apps',
  '/aDmIn/apps/x',
  '/%61dmin/apps',
  '/%41DMIN/apps',
  '/%2561dmin/apps', // double-encoded
  '/%252561dmin/apps', // triple-encoded
  '/admin%2Fapps',
  '/admin%2fapps',
  '/%2Fadmin/apps',
  '//admin/apps',
  '///admin//apps',
  '/./admin/apps',
  '/x/../admin/apps',
  '/x/y/../../admin',
  '/../admin/apps',
  '/x/%2E%2E/admin/apps',
  '/x/%2e%2e%2fadmin/apps',
  '/admin;jsessionid=1/apps',
  '/admin%20/apps',
  '/admin%00/apps',
  '/admin%09',
  '\\admin\\apps',
  '/x\\..\\admin',
  '/x%5C..%5Cadmin',
];

const NOT_ADMIN = ['/', '/apps', '/apps/admin', '/administrator', '/adminx/apps', '/admin-ui', '/x/admin', '/admin/../apps', '/healthz', '/%C3%A4dmin'];

describe('request paths', () => {
  describe('isAdminPath', () => {
    for (const path of ADMIN_SPELLINGS) {
      it(`classifies ${JSON.stringify(path)} as admin`, () => expect(isAdminPath(path)).to.equal(true));
    }
    for (const path of NOT_ADMIN) {
      it(`does not classify ${JSON.stringify(path)} as admin`, () => expect(isAdminPath(path)).to.equal(false));
    }
  });

  describe('foldedSegments', () => {
    it('decodes, folds case and resolves dot and empty segments', () => {
      expect(foldedSegments('/A/%62/./c//D/../e%2Ff')).to.deep.equal(['a', 'b', 'c', 'e', 'f']);
    });
    it('never throws on malformed or non-ASCII escapes', () => {
      expect(foldedSegments('/%zz/%E0%A4%A/%/%C3%A4')).to.deep.equal(['%zz', '%e0%a4%a', '%', '%c3%a4']);
    });
    it('folds a path with nothing to decode as it folds the same path with something to decode', () => {
      // `/;x` folds to an empty segment, and sends the path the long way round.
      const plain = fc.string({ unit: fc.constantFrom('/', 'a', 'z', '0', '.', '..', '-', '_', '~', '!', '$', '(', ':', '@', '=') });
      fc.assert(
        fc.property(plain, (path) => {
          expect(foldedSegments(path)).to.deep.equal(foldedSegments(`${path}/;x`));
        }),
        { numRuns: 2000 },
      );
      expect(foldedSegments('/apps/x/../../admin/./apps')).to.deep.equal(['admin', 'apps']);
    });
  });

  describe('foldedPathOf', () => {
    it('folds the path of a request once, and again when the path was rewritten', () => {
      const ctx = { path: '/apps/x/me' };
      const first = foldedPathOf(ctx);
      expect(first).to.deep.equal(['apps', 'x', 'me']);
      expect(foldedPathOf(ctx)).to.equal(first);
      expect(isAdminRequest(ctx)).to.equal(false);
      ctx.path = '/apps/%2e%2e/%41dmin/apps';
      expect(foldedPathOf(ctx)).to.deep.equal(['admin', 'apps']);
      expect(isAdminRequest(ctx)).to.equal(true);
      for (const path of ADMIN_SPELLINGS) expect(isAdminRequest({ path }), path).to.equal(true);
      for (const path of NOT_ADMIN) expect(isAdminRequest({ path }), path).to.equal(false);
    });
  });

  describe('isCanonicalPath', () => {
    const canonical = ['/', '/admin/apps', '/apps/0b6d/.well-known/openid-configuration', '/apps/x/interaction/abc_DEF-1/email', '/a%20b', '/a%C3%A4', '/trailing/'];
    const notCanonical = [
      '',
      'admin/apps',
      '//admin/apps',
      '/admin//apps',
      '/./admin',
      '/admin/.',
      '/x/../admin',
      '/admin/..',
      '/admin\\apps',
      '/%61dmin',
      '/admin%2Fapps',
      '/admin%2fapps',
      '/admin%5Capps',
      '/%2E%2E/admin',
      '/a%2Db',
      '/a%5Fb',
      '/a%7Eb',
      '/a%30',
      '/%2561dmin',
      '/bad%zz',
      '/bad%4',
      '/bad%',
    ];
    for (const path of canonical) it(`accepts ${JSON.stringify(path)}`, () => expect(isCanonicalPath(path)).to.equal(true));
    for (const path of notCanonical) it(`refuses ${JSON.stringify(path)}`, () => expect(isCanonicalPath(path)).to.equal(false));
  });

  describe('against the real admin router', () => {
    const router = adminRouter({ apps: {} as never, publicUrl: 'http://localhost', audit: {} as never, rules: { httpLoopbackEndpoints: false } });
    const routes = routesOf(router);
    const ID = '0b6d1f7e-3b2a-4c9d-8e7f-0a1b2c3d4e5f';

    /** A spelling of `path` a lenient server might treat as the same: case flips, escapes, dot and empty segments. */
    const spelling = (path: string) =>
      fc
        .tuple(
          fc.array(fc.nat(3), { minLength: path.length, maxLength: path.length }),
          fc.constantFrom('', '/', '/.', '/x/..', '//'),
          fc.constantFrom('', '/', '/.', '//'),
        )
        .map(([choices, before, after]) => {
          let out = '';
          for (const [i, char] of [...path].entries()) {
            const choice = choices[i]!;
            if (char === '/' || choice === 0) out += char;
            else if (choice === 1) out += char === char.toLowerCase() ? char.toUpperCase() : char.toLowerCase();
            else if (choice === 2) out += `%${char.charCodeAt(0).toString(16).padStart(2, '0')}`;
            else out += `%25${char.charCodeAt(0).toString(16).padStart(2, '0')}`;
          }
          return `${before}${out}${after}`;
        });

    it('has routes to test', () => expect(routes.length).to.be.greaterThan(5));

    it('classifies every spelling of every admin route as admin', () => {
      for (const layer of routes) {
        const path = fillPath(layer.path, {}, ID);
        fc.assert(fc.property(spelling(path), (variant) => isAdminPath(variant)), { numRuns: 300 });
      }
    });

    it('routes nothing to an admin handler that is not canonical and classified as admin', () => {
      const anyPath = fc.oneof(
        fc.webPath(),
        fc.string({ unit: fc.constantFrom('/', 'a', 'A', 'd', 'D', 'm', 'i', 'n', 'p', 's', '%', '2', '6', '1', '.', '\\', ';') }),
        ...routes.map((layer) => spelling(fillPath(layer.path, {}, ID))),
      );
      fc.assert(
        fc.property(anyPath, fc.constantFrom('GET', 'HEAD', 'POST', 'PATCH', 'DELETE', 'PUT', 'OPTIONS'), (path, method) => {
          if (!router.match(path, method).route) return true;
          return isAdminPath(path) && isCanonicalPath(path);
        }),
        { numRuns: 2000 },
      );
    });
  });
});
