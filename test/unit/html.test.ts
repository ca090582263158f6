// The html`…` tag is what keeps every hosted page and the sign-in mail free of injected
// markup: whatever is interpolated is escaped unless it is itself html`…` output.
import { expect } from 'chai';
import fc from 'fast-check';
import { html, raw, type HtmlValue } from '../../src/text/html.ts';

const HOSTILE = `<script>alert("x")</script> & 'quoted' \`tick\` "><img src=x onerror=alert(1)>`;
const ESCAPED =
  '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;quoted&#39; &#96;tick&#96; &quot;&gt;&lt;img src=x onerror=alert(1)&gt;';

const DECODED: Record<string, string> = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&#39;': "'", '&#96;': '`' };

const render = (value: HtmlValue) => html`<p>${value}</p>`.toString();

describe('html tagged template', () => {
  it('keeps the literal parts as written', () => {
    expect(html`<p class="a">x &amp; y</p>`.toString()).to.equal('<p class="a">x &amp; y</p>');
  });

  it('escapes markup, ampersands, both quotes and backticks in interpolated text', () => {
    expect(render(HOSTILE)).to.equal(`<p>${ESCAPED}</p>`);
  });

  it('escapes an already escaped string again (text is text, even if it looks like an entity)', () => {
    expect(render('&lt;b&gt;')).to.equal('<p>&amp;lt;b&amp;gt;</p>');
  });

  it('escapes attribute values so a value cannot close the quote', () => {
    const value = `" onmouseover="alert(1)' autofocus x='`;
    expect(html`<input value="${value}">`.toString()).to.equal(
      '<input value="&quot; onmouseover=&quot;alert(1)&#39; autofocus x=&#39;">',
    );
  });

  it('inserts nested html`…` as markup, while still escaping the values inside it', () => {
    const inner = html`<b>${HOSTILE}</b>`;
    expect(html`<p>${inner}</p>`.toString()).to.equal(`<p><b>${ESCAPED}</b></p>`);
  });

  it('does not trust a string that merely came out of html`…` earlier', () => {
    const text = html`<b>bold</b>`.toString();
    expect(render(text)).to.equal('<p>&lt;b&gt;bold&lt;/b&gt;</p>');
  });

  it('does not trust an object that only looks like SafeHtml', () => {
    const forged = { toString: () => '<script>x</script>' };
    expect(() => render(forged as never)).to.throw(TypeError);
  });

  it('joins arrays without separators, escaping strings and keeping markup', () => {
    const items = ['<a>', html`<li>${'&'}</li>`, ['"', html`<br>`]];
    expect(render(items)).to.equal('<p>&lt;a&gt;<li>&amp;</li>&quot;<br></p>');
  });

  it('renders undefined, null, false and empty arrays as nothing', () => {
    expect(render(undefined)).to.equal('<p></p>');
    expect(render(null)).to.equal('<p></p>');
    expect(render(false)).to.equal('<p></p>');
    expect(render([])).to.equal('<p></p>');
    const missing: string | undefined = undefined;
    expect(render(missing && html`<b>${missing}</b>`)).to.equal('<p></p>');
  });

  it('renders numbers and zero (zero is a value, not nothing)', () => {
    expect(html`<p>${0} ${15} ${-1.5} ${10n}</p>`.toString()).to.equal('<p>0 15 -1.5 10</p>');
  });

  it('refuses values that would print as "true" or "[object Object]"', () => {
    expect(() => render(true as never)).to.throw(TypeError, /true/);
    expect(() => render({} as never)).to.throw(TypeError, /object/);
    expect(() => render((() => '<b>') as never)).to.throw(TypeError, /function/);
    expect(() => render(Symbol('s') as never)).to.throw(TypeError, /symbol/);
  });

  it('refuses an interpolation as an unquoted attribute value, where escaping cannot help', () => {
    expect(() => html`<a href=${'x onclick=alert(1)'}>`).to.throw(SyntaxError, /quote/);
    expect(() => html`<input type="text" value= ${'x'}>`).to.throw(SyntaxError, /quote/);
    expect(html`<p>a = ${'b'}</p>`.toString()).to.equal('<p>a = b</p>');
  });

  it('raw() trusts exactly the markup it is given', () => {
    const form = '<form id="f" action="/x?a=1&amp;b=2"></form>';
    expect(html`<div>${raw(form)}</div>`.toString()).to.equal(`<div>${form}</div>`);
  });

  it('never lets an interpolated string add a tag, an attribute or an entity', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('<', '>', '&', '"', "'", '`', 'a', ' ', '=', ';', '#') }), (s) => {
        const out = html`<i title="${s}">${s}</i>`.toString();
        const title = out.slice('<i title="'.length, out.indexOf('">'));
        const body = out.slice(out.indexOf('">') + 2, -'</i>'.length);
        expect(title, 'attribute and text are escaped alike').to.equal(body);
        expect(body).not.to.match(/[<>"'`]/);
        expect(body).not.to.match(/&(?!(amp|lt|gt|quot|#39|#96);)/);
        expect(body.replace(/&(amp|lt|gt|quot|#39|#96);/g, (e) => DECODED[e] ?? e)).to.equal(s);
      }),
    );
  });
});
