// Client ids are typed as command-line arguments (`postern clients show APP ID`), where a
// leading dash reads as an option: newClientId never makes one. Drawn freely, 1 id in 64
// would start with `-`, so 5,000 draws without the rule fail with near certainty.
import { expect } from 'chai';
import { newClientId } from '../../src/apps/clients-service.ts';

describe('client ids', () => {
  it('are 128 random bits in base64url (22 characters), all different, never starting with a dash', () => {
    const ids = Array.from({ length: 5_000 }, newClientId);
    for (const id of ids) expect(id).to.match(/^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
    expect(new Set(ids).size).to.equal(ids.length);
  });
});
