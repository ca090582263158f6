// normalizeEmail is the one definition of an account id (`sub`): it must be stable
// (trimmed, lowercased) and must never let through more than one address or header tricks.
import { expect } from 'chai';
import { normalizeEmail, type EmailCheck } from '../../src/accounts/email-address.ts';

function accepted(input: unknown): string {
  const result: EmailCheck = normalizeEmail(input);
  if (!result.ok) throw new Error(`expected ${JSON.stringify(input)} to be accepted, got: ${result.reason}`);
  return result.email;
}

function rejected(input: unknown): string {
  const result: EmailCheck = normalizeEmail(input);
  if (result.ok) throw new Error(`expected ${JSON.stringify(input)} to be rejected, got: ${result.email}`);
  expect(result.reason, 'a reason for the person').to.be.a('string').and.not.equal('');
  return result.reason;
}

describe('normalizeEmail', () => {
  it('trims surrounding whitespace', () => {
    expect(accepted('  ada@example.com\t ')).to.equal('ada@example.com');
  });

  it('lowercases the whole address', () => {
    expect(accepted('Ada.Lovelace@Example.COM')).to.equal('ada.lovelace@example.com');
  });

  it('is idempotent: a normalised address normalises to itself', () => {
    const once = accepted('  Grace.Hopper+Navy@Mail.Example.ORG ');
    expect(accepted(once)).to.equal(once);
  });

  it('accepts plus-addressing', () => {
    expect(accepted('user+tag@example.com')).to.equal('user+tag@example.com');
    expect(accepted('user+a+b@example.com')).to.equal('user+a+b@example.com');
  });

  it('accepts subdomains and multi-label public suffixes', () => {
    expect(accepted('someone@mail.eu.example.co.uk')).to.equal('someone@mail.eu.example.co.uk');
    expect(accepted('x@a-b.example.com')).to.equal('x@a-b.example.com');
  });

  it('accepts dotted local parts and common special characters', () => {
    expect(accepted('first.last@example.com')).to.equal('first.last@example.com');
    expect(accepted("o'brien_x-y@example.com")).to.equal("o'brien_x-y@example.com");
  });

  it('rejects CR and LF anywhere, even where trimming would remove them', () => {
    rejected('ada@example.com\r\nBcc: eve@example.com');
    rejected('ada@example.com\nBcc: eve@example.com');
    rejected('ada@example.com\r');
    rejected('ada@example.com\n');
    rejected('\nada@example.com');
    rejected('ada@exa\rmple.com');
  });

  it('rejects NUL characters', () => {
    rejected('ada@example.com\0');
  });

  it('rejects lists of addresses (commas, semicolons, spaces)', () => {
    rejected('ada@example.com,eve@example.com');
    rejected('ada@example.com, eve@example.com');
    rejected('ada@example.com;eve@example.com');
    rejected('ada@example.com eve@example.com');
    rejected('ada,eve@example.com');
  });

  it('rejects two @ signs', () => {
    rejected('ada@eve@example.com');
    rejected('"ada@x"@example.com');
  });

  it('rejects display-name and angle-bracket forms', () => {
    rejected('Ada <ada@example.com>');
    rejected('<ada@example.com>');
  });

  it('accepts exactly 254 characters and rejects 255', () => {
    const local = 'a'.repeat(64);
    const domain254 = `${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(57)}.com`;
    const at254 = `${local}@${domain254}`;
    expect(at254).to.have.length(254);
    expect(accepted(at254)).to.equal(at254);

    const at255 = `${local}@${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(58)}.com`;
    expect(at255).to.have.length(255);
    expect(rejected(at255)).to.match(/254/);
  });

  it('rejects much longer input', () => {
    rejected(`${'a'.repeat(300)}@example.com`);
    rejected(`ada@${'x'.repeat(5000)}.com`);
  });

  it('rejects a local part over 64 characters', () => {
    rejected(`${'a'.repeat(65)}@example.com`);
  });

  it('rejects a missing @, a missing local part or a missing domain', () => {
    rejected('ada.example.com');
    rejected('@example.com');
    rejected('ada@');
    rejected('ada');
  });

  it('rejects a domain without a TLD', () => {
    rejected('ada@localhost');
    rejected('ada@example');
    rejected('ada@example.');
  });

  it('rejects a numeric-only TLD (an IP address is not a mail domain here)', () => {
    rejected('ada@127.0.0.1');
    rejected('ada@example.123');
  });

  it('rejects malformed dots and hyphens', () => {
    rejected('ada..lovelace@example.com');
    rejected('.ada@example.com');
    rejected('ada.@example.com');
    rejected('ada@example..com');
    rejected('ada@.example.com');
    rejected('ada@-example.com');
    rejected('ada@example-.com');
  });

  it('rejects empty and whitespace-only input', () => {
    rejected('');
    rejected('   ');
  });

  it('rejects non-strings', () => {
    for (const value of [undefined, null, 42, true, {}, ['ada@example.com'], { toString: () => 'ada@example.com' }]) {
      rejected(value);
    }
  });
});
