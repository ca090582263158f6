import { expect } from 'chai';
import { simpleParser } from 'mailparser';
import { headerText, mimeMessage, quotedPrintable, senderOf } from '../../src/mail/smtp-message.ts';
import { signInMail } from '../../src/mail/sign-in-mail.ts';

const NOW = new Date('2026-11-23T06:19:05Z');
const AUTO = { 'Auto-Submitted': 'auto-generated' };

function mail(brandName: string, language: 'en' | 'ar' | 'de' = 'en') {
  return signInMail({
    to: 'person@example.com',
    brand: { name: brandName },
    language,
    link: `https://id.example.com/interaction/${'u'.repeat(43)}/link?code=${'c'.repeat(43)}&lang=${language}`,
    shortCode: 'ABCD-EFGH',
    ttlSeconds: 900,
  });
}

/** What a mail program reads. */
async function read(raw: string) {
  return simpleParser(Buffer.from(raw));
}

describe('sign-in mail as MIME', () => {
  it('reads back, in a mail parser, exactly as written: sender, recipient, subject, text and HTML', async () => {
    for (const [brand, language] of [['Acme', 'en'], ['Überweisung & Co. «Bank»', 'de'], ['متجر الكتب', 'ar']] as const) {
      const message = mail(brand, language);
      const parsed = await read(mimeMessage(senderOf('Postern <no-reply@id.example.com>'), message, AUTO, NOW));
      expect(parsed.from?.value).to.deep.equal([{ address: 'no-reply@id.example.com', name: 'Postern' }]);
      expect(parsed.to && !Array.isArray(parsed.to) && parsed.to.value).to.deep.equal([{ address: 'person@example.com', name: '' }]);
      expect(parsed.subject).to.equal(message.subject);
      expect(parsed.text?.replace(/\r\n/g, '\n').trimEnd()).to.equal(message.text);
      expect(typeof parsed.html === 'string' && parsed.html.replace(/\r\n/g, '\n').trimEnd()).to.equal(message.html);
      expect(parsed.headers.get('auto-submitted')).to.equal('auto-generated');
      expect(parsed.date?.toISOString()).to.equal(NOW.toISOString());
      expect(parsed.messageId).to.match(/^<[0-9a-f-]{36}@id\.example\.com>$/);
    }
  });

  it('keeps every line within 78 characters, CRLF-terminated, and gives each mail its own Message-ID and boundary', () => {
    const sender = senderOf('no-reply@id.example.com');
    const long = mail(`${'Ein sehr langer Markenname mit Umlauten äöü '.repeat(4)}`, 'de');
    const raw = mimeMessage(sender, long, AUTO, NOW);
    expect(raw.split('\r\n').every((line) => line.length <= 78), 'a line longer than 78').to.equal(true);
    expect(raw.replace(/\r\n/g, '')).not.to.match(/[\r\n]/);
    const again = mimeMessage(sender, long, AUTO, NOW);
    const id = (m: string) => /^Message-ID: (.*)$/m.exec(m)?.[1];
    const boundary = (m: string) => /boundary="([^"]+)"/.exec(m)?.[1];
    expect(id(again)).not.to.equal(id(raw));
    expect(boundary(again)).not.to.equal(boundary(raw));
    expect(raw).to.match(/^Content-Type: multipart\/alternative;\r\n boundary="/m);
  });

  it('cannot be given another header or recipient through a brand name (CR, LF, "Bcc:")', async () => {
    const raw = mimeMessage(senderOf('no-reply@id.example.com'), mail('Shop\r\nBcc: victim@example.org\r\n\r\nforged body'), AUTO, NOW);
    const parsed = await read(raw);
    expect(parsed.headers.has('bcc')).to.equal(false);
    expect(parsed.bcc).to.equal(undefined);
    expect(parsed.subject).to.include('Bcc: victim@example.org');
    expect(raw.slice(0, raw.indexOf('\r\n\r\n')), 'the header section').not.to.match(/^Bcc:/im);
  });

  it('encodes a sender name outside ASCII, and quotes one with specials; IDN sender domains go out as punycode', async () => {
    const umlaut = senderOf('Bücher Ökonom <no-reply@bücher.example>');
    expect(umlaut.address).to.equal('no-reply@xn--bcher-kva.example');
    const raw = mimeMessage(umlaut, mail('Acme'), AUTO, NOW);
    expect(raw).to.match(/^From: =\?UTF-8\?B\?[^\r\n]+<no-reply@xn--bcher-kva\.example>\r$/m);
    expect((await read(raw)).from?.value[0]?.name).to.equal('Bücher Ökonom');
    const specials = senderOf('"Acme, Inc. \\"Sign-in\\"" <id@acme.example>');
    expect((await read(mimeMessage(specials, mail('Acme'), AUTO, NOW))).from?.value).to.deep.equal([{ address: 'id@acme.example', name: 'Acme, Inc. "Sign-in"' }]);
  });

  it('shows an encoded word in a name as written, never decoded (a right-to-left override the name rules refuse)', async () => {
    const sneaky = `Acme =?UTF-8?B?${Buffer.from('\u202e').toString('base64')}?= Bank`;
    const raw = mimeMessage(senderOf(`${sneaky} <no-reply@id.example.com>`), mail(sneaky), AUTO, NOW);
    const parsed = await read(raw);
    expect(parsed.subject).to.include(sneaky).and.not.include('\u202e');
    expect(parsed.from?.value[0]?.name).to.equal(sneaky);
  });

  it('quoted-printable: escapes "=", non-ASCII and a line-ending space, soft-breaks long lines at 76', () => {
    expect(quotedPrintable('a=b ü \nnext\t')).to.equal('a=3Db =C3=BC=20\r\nnext=09');
    const long = quotedPrintable('x'.repeat(200));
    expect(long.split('\r\n').map((l) => l.length)).to.deep.equal([76, 76, 50]);
    expect(long.replace(/=\r\n/g, '')).to.equal('x'.repeat(200));
  });

  it('leaves a short printable header as it is and encodes anything else', () => {
    expect(headerText('Sign in to Acme', 9)).to.equal('Sign in to Acme');
    expect(headerText('x'.repeat(80), 9)).to.match(/^=\?UTF-8\?B\?/);
    expect(headerText('a\nb', 9)).to.equal(`=?UTF-8?B?${Buffer.from('a\nb').toString('base64')}?=`);
  });
});
