import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Browser } from '../helpers/chromium.js';
import { startExporter } from '../helpers/exporter.js';

// The status page in a real headless Chromium against the demo tailnet, with two devices whose names are
// hostile: it loads without a console error, runs no script, lists every device as text, and a filter link
// narrows the table. A screenshot goes to dist/screenshots/ for the test log.

const HOSTILE = '<img src=x onerror=alert(1)>';
const QUOTES = `say "hi" & 'bye'\nsecond line`;

test(
  'the status page in headless Chromium: no console error, no script, every device, a filter link narrows the table',
  { timeout: 120_000 },
  async (t) => {
    const ex = await startExporter(t, {}, { demo: true });
    const sim = ex.simulator!;
    await sim.addDevice({
      hostname: 'hostile',
      name: `${HOSTILE}.tail1234.ts.net`,
      tags: ['tag:exporter'],
      servesMetrics: true,
    });
    await sim.addDevice({ hostname: 'quotes', name: `${QUOTES}.tail1234.ts.net`, os: HOSTILE });
    await ex.nextCycle();

    const browser = await Browser.launch();
    t.after(() => browser.close());
    const page = await browser.newPage();
    await page.setViewport(1280, 900);
    await page.navigate(`${ex.url}/`);

    const rows = await page.evaluate<Array<[string, string]>>(
      `[...document.querySelectorAll('#device-table tbody tr')].map((tr) => [tr.dataset.state, tr.querySelector('td.name').textContent])`,
    );
    assert.equal(rows.length, sim.devices.length, 'every device of the simulator is in the table');
    const names = rows.map(([, name]) => name);
    assert.ok(names.includes(`${HOSTILE}.tail1234.ts.net`), 'the hostile name is shown as text');
    assert.ok(names.includes(`${QUOTES}.tail1234.ts.net`), 'quotes and the newline are kept as text');
    assert.equal(
      await page.evaluate<number>(`document.querySelectorAll('img, script, iframe, object, embed').length`),
      0,
      'no element came from a device name',
    );
    assert.equal(
      await page.evaluate<boolean>(
        `document.getElementById('simulator-banner') !== null && document.title.startsWith('[SIMULATOR]')`,
      ),
      true,
    );
    const before = new Map<string, number>();
    for (const [state] of rows) before.set(state, (before.get(state) ?? 0) + 1);
    assert.ok((before.get('scraped') ?? 0) > 0 && (before.get('scraped') ?? 0) < rows.length);

    // The filter is a plain link, clicked with the mouse.
    await page.clickAndWait('#device-filters a[href^="/?state=scraped"]');
    assert.equal(await page.evaluate<string>('location.search'), '?state=scraped');
    const filtered = await page.evaluate<string[]>(
      `[...document.querySelectorAll('#device-table tbody tr')].map((tr) => tr.dataset.state)`,
    );
    assert.equal(filtered.length, before.get('scraped'), 'the table narrowed to the scraped devices');
    assert.ok(filtered.every((s) => s === 'scraped'));
    assert.equal(
      await page.evaluate<string>(`document.querySelector('#device-filters a[aria-current]').textContent`),
      `scraped (${before.get('scraped')})`,
    );

    const dir = join(process.cwd(), 'dist', 'screenshots');
    mkdirSync(dir, { recursive: true });
    await page.navigate(`${ex.url}/`);
    const shot = join(dir, 'status-page.png');
    await page.screenshot(shot);
    t.diagnostic(`status page screenshot: ${shot}`);

    assert.deepEqual(page.errors, [], 'no console error, exception or failed load');
    assert.deepEqual(page.dialogs, [], 'no dialog: no script ran');
    assert.deepEqual(page.pageScripts, [], 'the page compiled no script at all');

    // The control: the same watchers do see a script, its dialog and its console error.
    const control = await browser.newPage();
    await control.navigate(`data:text/html,<p>control</p><script>console.error('seen'); alert(1)</script>`);
    assert.deepEqual(control.dialogs, ['alert: 1']);
    assert.equal(control.pageScripts.length, 1);
    assert.match(control.errors.join('\n'), /console\.error: \["seen"\]/);
  },
);
