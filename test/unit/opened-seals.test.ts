import { expect } from 'chai';
import { OpenedSeals } from '../../src/keys/opened-seals.ts';

describe('opened seals (what sealed documents open to, remembered)', () => {
  it('answers a remembered ciphertext under its own context only', () => {
    const seals = new OpenedSeals(1_000);
    seals.remember('v1.iv.tag.data', 'postern:oidc:app-a:Session', '{"id":"s"}');
    expect(seals.get('v1.iv.tag.data', 'postern:oidc:app-a:Session')).to.equal('{"id":"s"}');
    expect(seals.get('v1.iv.tag.data', 'postern:oidc:app-b:Session'), 'another app').to.equal(undefined);
    expect(seals.get('v1.iv.tag.data', 'postern:oidc:app-a:Grant'), 'another model').to.equal(undefined);
    expect(seals.get('v1.iv.tag.datA', 'postern:oidc:app-a:Session'), 'altered').to.equal(undefined);
  });

  it('keeps what it holds under its bound, forgetting the oldest first', () => {
    const seals = new OpenedSeals(100);
    // 20 characters each: five fit.
    for (let i = 0; i < 12; i++) seals.remember(`sealed-${String(i).padStart(3, '0')}`, 'c', `plain-${String(i).padStart(3, '0')}`);
    expect(seals.size).to.equal(5);
    expect(seals.get('sealed-006', 'c')).to.equal(undefined);
    for (let i = 7; i < 12; i++) expect(seals.get(`sealed-${String(i).padStart(3, '0')}`, 'c')).to.equal(`plain-${String(i).padStart(3, '0')}`);
    // Larger than the whole bound: never held, and nothing else is dropped for it.
    seals.remember('x'.repeat(90), 'c', 'y'.repeat(20));
    expect(seals.size).to.equal(5);
  });

  it('keeps the first plaintext of a ciphertext remembered twice, counted once', () => {
    const seals = new OpenedSeals(40);
    seals.remember('sealed-a', 'c', 'plain-a');
    seals.remember('sealed-a', 'c', 'plain-a');
    seals.remember('sealed-b', 'c', 'plain-b');
    expect([seals.get('sealed-a', 'c'), seals.get('sealed-b', 'c')]).to.deep.equal(['plain-a', 'plain-b']);
  });
});
