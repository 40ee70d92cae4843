import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { loadConfig } from '../../src/config/load.js';
import { SECRET_VARIABLES, VARIABLES } from '../../src/config/schema.js';
import { escapeLabelValue } from '../../src/exposition/escape.js';
import { gauge } from '../../src/exposition/family.js';
import { render } from '../../src/exposition/render.js';
import { parseExposition } from '../../src/devices/parse/index.js';
import { ConfigError } from '../../src/errors.js';

// Property-based tests of the untrusted-input boundaries. Run counts are stated per property.

const NAMES = VARIABLES.map((v) => v.name);
const SECRET_MARK = 'SeCrEt-9f8e7d';

test('config: any environment yields a frozen Config or a one-line ConfigError that names no secret (2,000 runs)', () => {
  const value = fc.oneof(
    fc.string(),
    fc.constantFrom(
      '',
      ' ',
      'true',
      'false',
      '0',
      '-1',
      '10s',
      '1m30s',
      'abc',
      '99999',
      'tag:x',
      '100.64.0.0/10',
      '1,2,3',
      '\n',
      '"',
    ),
    fc.stringMatching(/^[0-9a-z.:,/*-]{0,12}$/),
  );
  const env = fc.dictionary(
    fc.constantFrom(...NAMES, ...SECRET_VARIABLES.map((s) => `${s}_FILE`), 'TEST_DEVICES'),
    value,
    { maxKeys: 10 },
  );
  fc.assert(
    fc.property(env, fc.boolean(), (raw, demo) => {
      // Every secret carries a marker that must never appear in an error.
      const e: Record<string, string> = { ...raw };
      for (const s of SECRET_VARIABLES) if (e[s] !== undefined) e[s] = `${e[s]}${SECRET_MARK}`;
      try {
        const c = loadConfig(e, { demo, readFile: () => `file-${SECRET_MARK}` });
        assert.ok(Object.isFrozen(c));
        assert.ok(c.port >= 1 && c.port <= 65535);
        assert.ok(c.scrapeIntervalMs >= 1000);
      } catch (err) {
        assert.ok(err instanceof ConfigError, `unexpected ${String(err)}`);
        assert.ok(!err.message.includes('\n'), 'one line');
        assert.ok(!err.message.includes(SECRET_MARK), `secret in: ${err.message}`);
      }
    }),
    { numRuns: 2000 },
  );
});

test('label escaper: any string becomes one line that parses back to itself (3,000 runs)', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'grapheme', maxLength: 60 }), (s) => {
      const escaped = escapeLabelValue(s);
      assert.ok(!escaped.includes('\n'));
      assert.ok(!/(^|[^\\])(\\\\)*"/.test(escaped), 'no unescaped quote');
      const parsed = parseExposition(render([gauge('m', 'h', [[{ l: s }, 1]])]).text);
      assert.ok(parsed.ok);
      assert.equal(parsed.families[0]!.samples[0]!.labels.l, s);
    }),
    { numRuns: 3000 },
  );
});
