import assert from 'node:assert/strict';
import { test } from 'node:test';
import { escapeHtml, html, Html } from '../../src/server/html.js';

// The escaping template of the status page (src/server/html.ts).

test('escapeHtml: each of & < > " \' has its entity; everything else is left as it is', () => {
  assert.equal(escapeHtml('&'), '&amp;');
  assert.equal(escapeHtml('<'), '&lt;');
  assert.equal(escapeHtml('>'), '&gt;');
  assert.equal(escapeHtml('"'), '&quot;');
  assert.equal(escapeHtml("'"), '&#39;');
  assert.equal(
    escapeHtml(`a&&b<<c>>d""e''f`),
    'a&amp;&amp;b&lt;&lt;c&gt;&gt;d&quot;&quot;e&#39;&#39;f',
    'every occurrence',
  );
  const plain = 'plain text = 1; `x` / \\ é “q” \u0000\n\t';
  assert.equal(escapeHtml(plain), plain);
  assert.equal(escapeHtml(''), '');
});

test('html: the literal parts as they are, each value between them in order', () => {
  assert.equal(html`plain`.toString(), 'plain');
  assert.equal(html``.toString(), '');
  assert.equal(html`<p a="${'x'}">${'y'}</p>${'z'}`.toString(), '<p a="x">y</p>z');
  assert.equal(html`${'only'}`.toString(), 'only');
  assert.ok(html`x` instanceof Html);
});

test('html: numbers, zero, true and the empty string are text; undefined, null and false are nothing', () => {
  assert.equal(html`[${0}|${1.5}|${-2}|${true}|${''}|${undefined}|${null}|${false}]`.toString(), '[0|1.5|-2|true||||]');
  assert.equal(html`${[1, [2, [html`<b>`, '<i>']], undefined, false, 0]}`.toString(), '12<b>&lt;i&gt;0');
  assert.equal(html`${[]}`.toString(), '');
  assert.equal(html`${html`<a>${'&'}</a>`}`.toString(), '<a>&amp;</a>', 'markup is kept, not escaped twice');
});

test('Html: only the template makes markup; a look-alike object is escaped text', () => {
  assert.throws(() => new Html('<b>', Symbol('html')), {
    name: 'TypeError',
    message: 'markup is made with the html template only',
  });
  assert.equal(html`${{ toString: () => '<b>' }}`.toString(), '&lt;b&gt;');
  assert.equal(String(html`<i>`), '<i>');
});
