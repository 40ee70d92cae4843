import { getMaxListeners, setMaxListeners } from 'node:events';
import { Agent, errors as undiciErrors, request, type Dispatcher } from 'undici';
import { isTimeout } from '../errors.js';
import type { MetricFamily } from '../exposition/family.js';
import { parseExposition } from './parse/index.js';
import { background } from '../slicer.js';
import { BodyTooLargeError, readBody } from '../util/body.js';
import { eachLimited } from '../util/pool.js';
import type { ScrapeTarget } from './targets.js';

/** Bounded failure reasons: these are label values of tsmetrics_device_scrape_errors_total. */
type ScrapeFailure = 'timeout' | 'connect' | 'http_status' | 'too_large' | 'parse' | 'too_many_series';

export type ScrapeResult =
  | {
      readonly ok: true;
      readonly target: ScrapeTarget;
      readonly families: readonly MetricFamily[];
      readonly bytes: number;
      readonly durationSeconds: number;
      readonly series: number;
    }
  | {
      readonly ok: false;
      readonly target: ScrapeTarget;
      readonly reason: ScrapeFailure;
      readonly message: string;
      readonly status?: number;
      readonly durationSeconds: number;
    };

export interface ScraperOptions {
  readonly timeoutMs: number;
  readonly maxBytes: number;
  readonly maxSeries: number;
  readonly concurrency: number;
  /** How connections are made: direct by default; tsnet mode hands in a proxying dispatcher. */
  readonly dispatcher?: Dispatcher;
}

const ACCEPT = 'text/plain;version=0.0.4;q=1,application/openmetrics-text;version=1.0.0;q=0.5,*/*;q=0.1';

/**
 * What a caller keeps of a device's parsed families, applied as each scrape completes: a cycle of 2,500
 * scrapes then never holds every device's parsed samples at once.
 */
export type KeepFamilies = (families: readonly MetricFamily[], target: ScrapeTarget) => readonly MetricFamily[];

/** Scrapes device client-metrics endpoints. Never throws: every target gets a ScrapeResult. */
export class DeviceScraper {
  readonly #o: ScraperOptions;
  readonly #dispatcher: Dispatcher;
  readonly #ownsDispatcher: boolean;

  constructor(options: ScraperOptions) {
    this.#o = options;
    this.#ownsDispatcher = options.dispatcher === undefined;
    this.#dispatcher =
      options.dispatcher ??
      new Agent({
        connect: { timeout: options.timeoutMs },
        headersTimeout: options.timeoutMs,
        bodyTimeout: options.timeoutMs,
        maxResponseSize: options.maxBytes,
        // One keep-alive connection per device is enough: each is scraped once per cycle.
        connections: 1,
        keepAliveTimeout: 120_000,
        keepAliveMaxTimeout: 600_000,
      });
  }

  /**
   * Scrapes every target with at most `concurrency` requests in flight (the shared worker pool: a slow
   * device holds one worker, never the others).
   */
  async scrapeAll(
    targets: readonly ScrapeTarget[],
    signal?: AbortSignal,
    keep?: KeepFamilies,
  ): Promise<ScrapeResult[]> {
    const results = new Array<ScrapeResult>(targets.length);
    // Every scrape in flight listens on the cycle's signal (and removes its listener when done): more than
    // Node's default of 10 is expected here, not a leak worth a MaxListenersExceededWarning.
    if (signal !== undefined) setMaxListeners(Math.max(getMaxListeners(signal), this.#o.concurrency + 10), signal);
    await eachLimited(
      targets,
      this.#o.concurrency,
      async (target, i) => {
        results[i] = await this.scrape(target, signal, keep);
      },
      () => signal?.aborted === true,
    );
    // Targets never started because of an abort still get a result.
    for (let i = 0; i < targets.length; i++) {
      results[i] ??= {
        ok: false,
        target: targets[i]!,
        reason: 'timeout',
        message: 'aborted before the scrape started',
        durationSeconds: 0,
      };
    }
    return results;
  }

  async scrape(target: ScrapeTarget, signal?: AbortSignal, keep?: KeepFamilies): Promise<ScrapeResult> {
    const started = performance.now();
    const seconds = (): number => (performance.now() - started) / 1000;
    const fail = (reason: ScrapeFailure, message: string, status?: number): ScrapeResult =>
      status === undefined
        ? { ok: false, target, reason, message, durationSeconds: seconds() }
        : { ok: false, target, reason, message, status, durationSeconds: seconds() };
    // One deadline for connect, headers and body together. A plain controller and timer per request:
    // AbortSignal.any/timeout cost several times more and this runs thousands of times per cycle.
    const controller = new AbortController();
    const timer = setTimeout(
      () => controller.abort(new DOMException('scrape deadline', 'TimeoutError')),
      this.#o.timeoutMs,
    );
    const onAbort = (): void => controller.abort(signal!.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    let text: string;
    let contentType: string | undefined;
    try {
      const res = await request(target.url, {
        method: 'GET',
        dispatcher: this.#dispatcher,
        headers: { accept: ACCEPT, 'user-agent': 'tsmetrics' },
        signal: controller.signal,
      });
      if (res.statusCode !== 200) {
        await res.body.dump().catch(() => undefined);
        const location =
          res.statusCode >= 300 && res.statusCode < 400
            ? ` (redirect to ${String(res.headers.location ?? '?').slice(0, 100)})`
            : '';
        return fail('http_status', `HTTP ${res.statusCode}${location}`, res.statusCode);
      }
      const type = res.headers['content-type'];
      contentType = typeof type === 'string' ? type : undefined;
      text = (await readBody(res.body, this.#o.maxBytes, res.headers['content-length'])).toString('utf8');
    } catch (err) {
      // Our deadline or the cycle's abort (shutdown) ended the request, whatever undici threw for it (the abort's
      // reason itself, for the cycle's): no complete answer in time.
      if (controller.signal.aborted) return fail('timeout', `no complete answer within ${this.#o.timeoutMs} ms`);
      return fail(...classify(err, this.#o));
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
    // 100 answers can arrive at once: parsing them all in one go would hold up the event loop (and every
    // /metrics response being written) for tens of milliseconds. The wait is not the device's time.
    const fetchedSeconds = seconds();
    const body = text;
    return background.run((): ScrapeResult => {
      const parseStarted = performance.now();
      const parsed = parseExposition(body, { maxSeries: this.#o.maxSeries, contentType });
      if (!parsed.ok) return fail(parsed.error.reason, `line ${parsed.error.line}: ${parsed.error.message}`);
      const series = parsed.families.reduce((n, f) => n + f.samples.length, 0);
      const families = keep === undefined ? parsed.families : keep(parsed.families, target);
      const durationSeconds = fetchedSeconds + (performance.now() - parseStarted) / 1000;
      return { ok: true, target, families, bytes: Buffer.byteLength(body), durationSeconds, series };
    });
  }

  async close(): Promise<void> {
    if (this.#ownsDispatcher) await this.#dispatcher.destroy();
  }
}

function classify(err: unknown, o: ScraperOptions): [ScrapeFailure, string] {
  if (err instanceof BodyTooLargeError) return ['too_large', err.message];
  if (err instanceof undiciErrors.ResponseExceededMaxSizeError) {
    return ['too_large', `body exceeds ${o.maxBytes} bytes`];
  }
  // undici's own connect, headers and body timeouts (a deadline or a cycle's abort is caught before this).
  if (isTimeout(err)) {
    return ['timeout', `no complete answer within ${o.timeoutMs} ms`];
  }
  const code = (err as { code?: unknown })?.code;
  const message = err instanceof Error ? err.message : String(err);
  return ['connect', typeof code === 'string' ? `${code}: ${message}` : message];
}
