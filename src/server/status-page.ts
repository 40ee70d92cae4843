import { formatGoDuration } from '../config/duration.js';
import type { CycleRecord, RefreshStatus } from '../refresh/status.js';
import { failureHint } from '../refresh/status.js';
import { BACKEND_INFO, type BackendName } from '../config/backends.js';
import { scrapeAddress } from '../devices/targets.js';
import { CLIENT_METRICS_MIN_VERSION } from '../control/client-version.js';
import {
  PAGE_SIZE,
  STATE_ORDER,
  parseDeviceQuery,
  type DevicePage,
  type DeviceQuery,
  type DeviceRow,
  type DeviceTable,
} from './device-table.js';
import { html, type Html } from './html.js';

// The operator's status page: what the exporter sees and why, server-rendered, no script, no external
// asset. Every dynamic string goes through the `html` template, which escapes it.

type Mode = 'standalone' | 'tsnet' | 'simulator';

/** What does not change while the process runs. */
export interface StatusPageInfo {
  readonly version: string;
  readonly mode: Mode;
  readonly backend: BackendName;
  /** The tailnet name, or the Headscale URL. */
  readonly tailnet: string;
  readonly scrapeTag: string;
  /** REQUIRE_EXPORTER_TAG: naming an untagged device in TARGET_DEVICES is not enough. */
  readonly requireExporterTag: boolean;
  /** Redacted configuration (config/redact.ts). */
  readonly config: Record<string, unknown>;
}

export interface StatusPageRequest {
  readonly info: StatusPageInfo;
  readonly status: RefreshStatus;
  readonly table: DeviceTable;
  /** healthy / degraded / starting / unhealthy, as /health says. */
  readonly health: string;
  readonly tsnetUp: boolean | undefined;
  readonly nowMs: number;
  /** The path the page was asked for (`/` or `/status`): its filter and page links point there. */
  readonly path: string;
  readonly params: URLSearchParams;
  /** Other endpoints to link to. */
  readonly links: ReadonlyArray<readonly [href: string, text: string]>;
}

/** The whole page. Synchronous and bounded: at most one page of devices is rendered. */
export function renderStatusPage(r: StatusPageRequest): string {
  const query = parseDeviceQuery(r.params);
  const devices = r.table.page(r.status, query);
  const sim = r.info.mode === 'simulator';
  const body = html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${sim ? '[SIMULATOR] ' : ''}tsmetrics status</title>
<link rel="icon" href="data:,">
<style>${STYLE}</style></head>
<body${sim ? html` class="simulator"` : ''}>
${sim ? html`<p class="banner" id="simulator-banner"><strong>SIMULATOR</strong>: this exporter runs on the built-in simulated tailnet (<code>--demo</code> or <code>TEST_DEVICES</code>). Nothing on this page is a real device.</p>\n` : ''}<header><h1>tsmetrics${sim ? ' (simulator)' : ''}</h1>
<nav>${r.links.map(([href, text]) => html`<a href="${href}" title="${text}">${href}</a> `)}</nav></header>
${overview(r)}
${refreshes(r.status.history())}
${collectors(r)}
${deviceSection(r, query, devices)}
${configSection(r.info.config)}
<footer>Rendered ${new Date(r.nowMs).toISOString()} by tsmetrics ${r.info.version}. This page has no script and fetches nothing.</footer>
</body></html>
`;
  return body.toString();
}

function overview(r: StatusPageRequest): Html {
  const s = r.status;
  const last = s.history().at(-1);
  const rows: Array<readonly [string, unknown]> = [
    [
      'Health',
      html`<span class="${r.health === 'healthy' ? 'ok' : r.health === 'starting' ? 'muted' : 'bad'}">${r.health}</span>`,
    ],
    ['Build', `tsmetrics ${r.info.version}, Node.js ${process.version}`],
    [
      'Uptime',
      `${formatGoDuration(Math.floor((r.nowMs - s.startedAtMs) / 1000) * 1000)} (since ${new Date(s.startedAtMs).toISOString()})`,
    ],
    [
      'Mode',
      html`${r.info.mode === 'simulator' ? html`<strong class="bad">simulator</strong>` : r.info.mode}${r.tsnetUp === undefined ? '' : html`, own tailscaled <span class="${r.tsnetUp ? 'ok' : 'bad'}">${r.tsnetUp ? 'up' : 'down'}</span>`}`,
    ],
    ['Backend', r.info.backend],
    [BACKEND_INFO[r.info.backend].title, r.info.tailnet],
    [
      'Last refresh',
      s.lastCycleAtMs === undefined
        ? 'none yet'
        : `${ago(r.nowMs, s.lastCycleAtMs)} (${new Date(s.lastCycleAtMs).toISOString()})`,
    ],
    [
      'Last successful device list',
      s.lastApiSuccessAtMs === undefined
        ? 'none yet'
        : `${ago(r.nowMs, s.lastApiSuccessAtMs)} (${new Date(s.lastApiSuccessAtMs).toISOString()})`,
    ],
    [
      'API',
      last === undefined
        ? 'no refresh yet'
        : last.apiOk
          ? html`<span class="ok">up</span>`
          : html`<span class="bad">failing</span>: ${last.apiError ?? ''}`,
    ],
    [
      'Devices',
      `${s.devicesDiscovered} discovered, ${last?.devicesEligible ?? 0} eligible, ${s.devicesScraped} scraped in the last refresh`,
    ],
  ];
  return html`<section id="overview"><h2>Exporter</h2>
<dl>${rows.map(([k, v]) => html`<dt>${k}</dt><dd>${v}</dd>`)}</dl></section>`;
}

function refreshes(history: readonly CycleRecord[]): Html {
  if (history.length === 0)
    return html`<section id="refreshes"><h2>Refresh history</h2><p class="muted">No refresh has finished yet.</p></section>`;
  const newest = [...history].reverse();
  return html`<section id="refreshes"><h2>Refresh history</h2>
${durationChart(history)}
<table id="refresh-table"><thead><tr><th>started</th><th>duration</th><th>scrape cycle</th><th>device list</th><th>discovered</th><th>eligible</th><th>scraped</th><th>failed</th></tr></thead><tbody>
${newest.map(
  (c) =>
    html`<tr${c.apiOk && c.scrapeFailures === 0 ? '' : html` class="warn"`}><td>${c.startedAt}</td><td class="num">${seconds(c.durationSeconds)}</td><td class="num">${seconds(c.scrapeDurationSeconds)}</td><td>${c.apiOk ? html`<span class="ok">ok</span>` : html`<span class="bad">failed</span>: ${c.apiError ?? ''}`}</td><td class="num">${c.devicesDiscovered}</td><td class="num">${c.devicesEligible}</td><td class="num">${c.devicesScraped}</td><td class="num">${c.scrapeFailures}</td></tr>\n`,
)}</tbody></table></section>`;
}

/** Refresh (outer bar) and scrape-cycle (inner bar) durations of the kept cycles, oldest first. */
function durationChart(history: readonly CycleRecord[]): Html {
  const width = 600;
  const height = 100;
  const max = Math.max(...history.map((c) => c.durationSeconds), 1e-3);
  const slot = width / Math.max(history.length, 10);
  const bar = (x: number, w: number, v: number, cls: string): Html => {
    const h = Math.max(1, (v / max) * height);
    return html`<rect class="${cls}" x="${x.toFixed(1)}" y="${(height - h).toFixed(1)}" width="${w.toFixed(1)}" height="${h.toFixed(1)}"/>`;
  };
  return html`<figure><svg id="refresh-chart" role="img" aria-label="refresh and scrape-cycle durations of the last ${history.length} refreshes" viewBox="0 0 ${width} ${height + 14}" width="${width}" height="${height + 14}">
<line class="axis" x1="0" y1="${height}" x2="${width}" y2="${height}"/>
${history.map(
  (c, i) =>
    html`<g><title>${c.startedAt}: refresh ${seconds(c.durationSeconds)}, scrape cycle ${seconds(c.scrapeDurationSeconds)}${c.apiOk ? '' : ', device list failed'}</title>${bar(i * slot + 1, slot - 2, c.durationSeconds, c.apiOk ? 'refresh' : 'refresh failed')}${bar(i * slot + slot / 4, slot / 2 - 1, c.scrapeDurationSeconds, 'scrape')}</g>\n`,
)}<text x="2" y="${height + 12}">max ${seconds(max)}</text></svg>
<figcaption><span class="key refresh"></span> refresh duration <span class="key scrape"></span> scrape cycle (start to last device answer) <span class="key failed"></span> device list failed; oldest on the left</figcaption></figure>`;
}

function collectors(r: StatusPageRequest): Html {
  const list = r.status.collectors();
  if (list.length === 0)
    return html`<section id="collectors"><h2>Collectors</h2><p class="muted">No refresh has finished yet.</p></section>`;
  return html`<section id="collectors"><h2>Collectors</h2>
<table id="collector-table"><thead><tr><th>collector</th><th>last refresh</th><th>duration</th><th>last error</th><th>needs</th></tr></thead><tbody>
${list.map(
  (c) =>
    html`<tr data-collector="${c.collector}"${c.ok ? '' : html` class="warn"`}><td>${c.collector}</td><td>${c.ok ? html`<span class="ok">success</span>` : html`<span class="bad">failed</span>`}</td><td class="num">${seconds(c.durationSeconds)}</td><td>${c.lastError === undefined ? html`<span class="muted">none</span>` : html`${c.lastError.message} <span class="muted">(${c.lastError.at})</span>`}</td><td>${scopeHint(c.collector, r.info.backend)}</td></tr>\n`,
)}</tbody></table></section>`;
}

function scopeHint(collector: string, backend: BackendName): string {
  if (collector === 'exporter') return "nothing: the exporter's own figures";
  if (collector === 'peers') return "tsnet mode: the exporter's own tailscaled";
  const needs: Readonly<Record<string, string>> = BACKEND_INFO[backend].collectors;
  return Object.hasOwn(needs, collector) ? needs[collector]! : '';
}

/** Why a device in this state is or is not scraped. */
function why(row: DeviceRow, info: StatusPageInfo): string {
  const d = row.selection.device;
  switch (row.state) {
    case 'scraped':
      return 'tagged, online and allowed: its client metrics are scraped';
    case 'failing':
      return 'meant to be scraped, but its last scrape failed';
    case 'pending':
      return 'selected for scraping, no result yet (newly selected, or COLLECTORS leaves out client_metrics)';
    case 'untagged':
      return `not tagged ${info.scrapeTag} (SCRAPE_TAG)${info.requireExporterTag ? ', which REQUIRE_EXPORTER_TAG requires' : ', nor named by TARGET_DEVICES'}`;
    case 'excluded':
      return 'left out by EXCLUDE_DEVICES, TARGET_DEVICES or DEVICE_TAGS';
    case 'offline':
      return 'not connected to the control plane: nothing to scrape';
    case 'client_too_old':
      return `Tailscale ${d.clientVersion} is older than ${CLIENT_METRICS_MIN_VERSION.join('.')}, the first version that serves client metrics`;
    case 'address_refused':
      return `its address ${scrapeAddress(d) ?? '(none)'} is outside SCRAPE_ALLOWED_CIDRS: never dialled`;
    case 'other_shard':
      return 'scraped by another replica (SHARD_COUNT, SHARD_INDEX)';
  }
}

function deviceSection(r: StatusPageRequest, query: DeviceQuery, p: DevicePage): Html {
  const link = (q: Partial<DeviceQuery>): string => pageHref(r.path, { ...query, page: 1, ...q });
  const filters = [
    html`<a href="${link({ state: 'all' })}"${query.state === 'all' ? html` aria-current="page"` : ''}>all (${p.total})</a>`,
    ...STATE_ORDER.filter((s) => (p.counts.get(s) ?? 0) > 0 || s === query.state).map(
      (s) =>
        html`<a class="state-${s}" href="${link({ state: s })}"${query.state === s ? html` aria-current="page"` : ''}>${s} (${p.counts.get(s) ?? 0})</a>`,
    ),
  ];
  const first = (p.page - 1) * PAGE_SIZE;
  return html`<section id="devices"><h2>Devices</h2>
<p>Why each device is or is not scraped: the states of <code>tsmetrics_device_scrape_coverage</code> (and <em>pending</em>: eligible, not scraped yet). Failing devices first.</p>
<nav id="device-filters" aria-label="filter by state">${filters.map((f) => html`${f} `)}</nav>
<form method="get" action="${r.path}"><input type="hidden" name="state" value="${query.state}"><label>name, id or address <input type="search" name="q" value="${query.q}"></label> <button type="submit">search</button></form>
<p id="device-count">${p.matching === 0 ? 'No devices' : `Devices ${first + 1}-${first + p.rows.length} of ${p.matching}`}${query.q === '' ? '' : ` matching “${query.q}”`}.</p>
<table id="device-table"><thead><tr><th>device</th><th>id</th><th>address</th><th>OS, client</th><th>state</th><th>why</th><th>last scrape</th><th>error</th></tr></thead><tbody>
${p.rows.map((row) => deviceRow(row, r))}</tbody></table>
${pager(r.path, query, p)}</section>`;
}

function deviceRow(row: DevicePage['rows'][number], r: StatusPageRequest): Html {
  const d = row.selection.device;
  const last = row.scrape?.last;
  const lastSuccess = row.scrape?.lastSuccessSeconds;
  const scrape =
    last === undefined
      ? html`<span class="muted">-</span>`
      : html`${seconds(last.durationSeconds)}${lastSuccess === undefined ? '' : html`<br><span class="muted">last success ${ago(r.nowMs, lastSuccess * 1000)}</span>`}`;
  const error =
    last === undefined || last.ok
      ? ''
      : html`<strong>${last.reason}</strong>: ${last.message}${row.failingSince === undefined ? '' : html`<br><span class="muted">failing since ${row.failingSince}</span>`}${hint(failureHint(last.reason, last.message, last.status))}`;
  return html`<tr data-state="${row.state}" data-device-id="${d.id}"><td class="name">${d.name}</td><td><code>${d.id}</code></td><td>${scrapeAddress(d) ?? ''}</td><td>${d.os} ${d.clientVersion}</td><td><span class="state state-${row.state}">${row.state}</span></td><td>${why(row, r.info)}</td><td class="num">${scrape}</td><td>${error}</td></tr>\n`;
}

const hint = (text: string): Html | string => (text === '' ? '' : html`<br><span class="hint">hint: ${text}</span>`);

function pager(path: string, query: DeviceQuery, p: DevicePage): Html | string {
  if (p.pages <= 1) return '';
  const to = (page: number, text: string, rel: string): Html =>
    html`<a rel="${rel}" href="${pageHref(path, { ...query, page })}">${text}</a>`;
  return html`<nav id="device-pages" aria-label="pages">${p.page > 1 ? html`${to(1, '« first', 'first')} ${to(p.page - 1, '‹ previous', 'prev')} ` : ''}page ${p.page} of ${p.pages}${p.page < p.pages ? html` ${to(p.page + 1, 'next ›', 'next')} ${to(p.pages, 'last »', 'last')}` : ''}</nav>`;
}

/** A link to the device table with this query; the default values are left out. */
function pageHref(path: string, q: DeviceQuery): string {
  const params = new URLSearchParams();
  if (q.state !== 'all') params.set('state', q.state);
  if (q.q !== '') params.set('q', q.q);
  if (q.page > 1) params.set('page', String(q.page));
  const search = params.toString();
  return `${path}${search === '' ? '' : `?${search}`}#devices`;
}

function configSection(config: Record<string, unknown>): Html {
  const entries = Object.entries(config).filter(([, v]) => v !== undefined);
  return html`<section id="config"><h2>Configuration <span class="muted">(secrets redacted)</span></h2>
<table id="config-table"><tbody>${entries.map(([k, v]) => html`<tr><th>${k}</th><td><code>${typeof v === 'string' ? v : JSON.stringify(v)}</code></td></tr>\n`)}</tbody></table></section>`;
}

function seconds(s: number): string {
  return s < 1 ? `${(s * 1000).toFixed(s < 0.01 ? 2 : 0)} ms` : `${s.toFixed(2)} s`;
}

function ago(nowMs: number, thenMs: number): string {
  return `${formatGoDuration(Math.max(0, Math.floor((nowMs - thenMs) / 1000)) * 1000)} ago`;
}

const STYLE = html`
body{font:14px/1.4 system-ui,sans-serif;margin:0 1.5em 2em;color:#1d1d1f;background:#fff}
h1{margin:.6em 0 .2em}h2{margin:1.4em 0 .4em;border-bottom:1px solid #ddd}
nav a{margin-right:.6em}
dl{display:grid;grid-template-columns:max-content auto;gap:.15em 1em}dt{font-weight:600}dd{margin:0}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.25em .5em;border-bottom:1px solid #eee;vertical-align:top}
th{background:#f5f5f7}td.num{text-align:right;white-space:nowrap}td.name{overflow-wrap:anywhere;white-space:pre-wrap}
tr.warn td{background:#fff8e6}
.ok{color:#1a7f37;font-weight:600}.bad{color:#c62828;font-weight:600}.muted{color:#6e6e73}.hint{color:#8a5a00}
.state{padding:0 .4em;border-radius:3px;background:#eee;white-space:nowrap}
.state-failing{background:#fde2e1}.state-scraped{background:#dcf5e3}.state-pending,.state-address_refused,.state-client_too_old{background:#fff1c2}
a[aria-current]{font-weight:700;text-decoration:none;color:#000}
.banner{margin:0 -1.5em;padding:.7em 1.5em;background:#b71c1c;color:#fff;font-size:16px}
body.simulator{border-top:6px solid #b71c1c}
svg rect.refresh{fill:#90caf9}svg rect.failed{fill:#ef9a9a}svg rect.scrape{fill:#1565c0}svg .axis{stroke:#999}svg text{font-size:10px;fill:#555}
.key{display:inline-block;width:.8em;height:.8em;margin:0 .2em 0 .8em}.key.refresh{background:#90caf9}.key.scrape{background:#1565c0}.key.failed{background:#ef9a9a}
figure{margin:.5em 0}figcaption{color:#6e6e73;font-size:12px}
footer{margin-top:2em;color:#6e6e73;font-size:12px}
`;
