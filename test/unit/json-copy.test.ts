import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { copyJson } from '../../src/json-copy.ts';

/** What the copy must equal: the JSON round trip. */
const roundTrip = (value: unknown): unknown => JSON.parse(JSON.stringify(value)) as unknown;

/** Compares through the text too, so key order and own "__proto__" keys count. */
function expectRoundTrip(value: unknown): void {
  const copied = copyJson(value);
  expect(copied).to.deep.equal(roundTrip(value));
  expect(JSON.stringify(copied)).to.equal(JSON.stringify(value));
}

class Point {
  readonly x: number;
  readonly y: number;
  constructor(x: number, y: number) {
    this.x = x;
    this.y = y;
  }
}

/** A random JSON document, nested up to `depth`: a stand-in for anything a store holds. */
function randomJson(depth: number, next: () => number): unknown {
  const pick = next() % (depth > 0 ? 7 : 4);
  switch (pick) {
    case 0:
      return randomBytes(next() % 12).toString('base64url');
    case 1:
      return (next() % 2_000_000) / 7 - 100_000;
    case 2:
      return next() % 2 === 0;
    case 3:
      return null;
    case 4:
    case 5:
      return Object.fromEntries(Array.from({ length: next() % 6 }, (_, i) => [`k${i}_${next() % 100}`, randomJson(depth - 1, next)]));
    default:
      return Array.from({ length: next() % 5 }, () => randomJson(depth - 1, next));
  }
}

describe('copyJson: a copy of a JSON document', () => {
  it('gives what the JSON round trip gives for the documents the engine stores', () => {
    expectRoundTrip({
      iat: 1763900000,
      exp: 1763903600,
      accountId: 'someone@example.com',
      kind: 'AccessToken',
      scope: 'openid email',
      claims: { userinfo: { email: null } },
      extra: undefined,
      resources: ['https://api.example.com/'],
    });
    expectRoundTrip({ kind: 'Session', authorizations: { client: { sid: 'x', grantId: 'g', persistsLogout: false } }, amr: ['email'] });
  });

  it('gives the round trip for random documents', () => {
    let seed = 7;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    for (let i = 0; i < 500; i++) expectRoundTrip(randomJson(5, next));
  });

  it('leaves out, or writes as null, what JSON does', () => {
    const fn = () => 1;
    expectRoundTrip({ a: undefined, b: fn, c: Symbol('s'), d: NaN, e: -Infinity, f: -0, g: 1 });
    // eslint-disable-next-line no-sparse-arrays
    expectRoundTrip([undefined, fn, Symbol('s'), NaN, Infinity, , -0, 'x']);
    expect(Object.is(copyJson({ zero: -0 }).zero, 0)).to.equal(true);
    expect(() => copyJson(undefined)).to.throw(TypeError);
  });

  it('gives the round trip for values that are not plain data: toJSON, other prototypes, boxed values', () => {
    expectRoundTrip({ at: new Date(1763900000000), custom: { toJSON: () => ({ replaced: true }) } });
    expectRoundTrip({ point: new Point(1, 2), map: new Map([['a', 1]]), set: new Set([1]), text: new String('boxed'), flag: new Boolean(false) });
    expectRoundTrip(Object.assign(Object.create(null) as object, { a: 1, nested: Object.assign(Object.create(null) as object, { b: [2] }) }));
  });

  it('keeps a "__proto__" key as an own property, as JSON.parse does, without touching any prototype', () => {
    const parsed = JSON.parse('{"__proto__":{"polluted":true},"a":{"__proto__":[1]}}') as Record<string, unknown>;
    const copied = copyJson(parsed);
    expect(Object.getPrototypeOf(copied)).to.equal(Object.prototype);
    expect(Object.hasOwn(copied, '__proto__')).to.equal(true);
    expect((copied as { polluted?: unknown }).polluted).to.equal(undefined);
    expect(({} as { polluted?: unknown }).polluted).to.equal(undefined);
    expectRoundTrip(parsed);
  });

  it('refuses what JSON refuses, with the same TypeError: a BigInt, a cycle', () => {
    expect(() => copyJson({ n: 1n })).to.throw(TypeError, /BigInt/);
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = { back: cyclic };
    expect(() => copyJson(cyclic)).to.throw(TypeError, /circular/);
  });

  it('copies nesting deeper than its own recursion goes', () => {
    let deep: unknown = { leaf: true };
    for (let i = 0; i < 200; i++) deep = { next: [deep] };
    expectRoundTrip(deep);
  });

  it('shares no object or array with what it copied, either way', () => {
    const source = { openid: { scope: 'openid' }, list: [{ n: 1 }], authorizations: { app: { sid: 's' } } };
    const copied = copyJson(source);
    copied.openid.scope = 'openid email';
    copied.list[0]!.n = 2;
    copied.list.push({ n: 3 });
    copied.authorizations.app.sid = 'changed';
    expect(source).to.deep.equal({ openid: { scope: 'openid' }, list: [{ n: 1 }], authorizations: { app: { sid: 's' } } });
    source.openid.scope = 'changed at the source';
    expect(copied.openid.scope).to.equal('openid email');
  });
});
