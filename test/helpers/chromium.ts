import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';

// A real headless Chromium (Debian's `chromium`) driven over the DevTools protocol through
// --remote-debugging-pipe: JSON messages separated by NUL on file descriptors 3 (to the browser) and 4
// (from it). No WebSocket and no npm dependency; every call has a deadline.

const CHROMIUM = process.env.CHROMIUM ?? 'chromium';
const CALL_TIMEOUT_MS = 20_000;

interface Message {
  readonly id?: number;
  readonly method?: string;
  readonly params?: any;
  readonly result?: any;
  readonly error?: { message: string };
  readonly sessionId?: string;
}

export class Browser {
  readonly #child: ChildProcess;
  readonly #out: Writable;
  readonly #profile: string;
  readonly #pending = new Map<
    number,
    { resolve: (v: any) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }
  >();
  readonly #listeners = new Set<(m: Message) => void>();
  #next = 1;
  #stderr = '';
  #exited: Promise<void>;

  private constructor(child: ChildProcess, profile: string) {
    this.#child = child;
    this.#profile = profile;
    this.#out = child.stdio[3] as Writable;
    const input = child.stdio[4] as Readable;
    let buffer = '';
    input.setEncoding('utf8');
    input.on('data', (chunk: string) => {
      buffer += chunk;
      for (let end = buffer.indexOf('\0'); end >= 0; end = buffer.indexOf('\0')) {
        this.#dispatch(JSON.parse(buffer.slice(0, end)) as Message);
        buffer = buffer.slice(end + 1);
      }
    });
    child.stderr!.on('data', (d: Buffer) => {
      // Kept for an error message only, bounded.
      this.#stderr = (this.#stderr + d.toString()).slice(-4000);
    });
    this.#exited = new Promise((resolve) => child.once('exit', () => resolve()));
    void this.#exited.then(() => {
      for (const p of this.#pending.values()) {
        clearTimeout(p.timer);
        p.reject(new Error(`chromium exited: ${this.#stderr.slice(-500)}`));
      }
      this.#pending.clear();
    });
  }

  /** Starts a headless Chromium with a fresh profile that resolves no host name (loopback only). */
  static async launch(): Promise<Browser> {
    const profile = mkdtempSync(join(tmpdir(), 'tsmetrics-chromium-'));
    const args = [
      '--headless',
      '--remote-debugging-pipe',
      `--user-data-dir=${profile}`,
      '--disable-gpu',
      '--no-first-run',
      '--no-default-browser-check',
      '--disable-extensions',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-default-apps',
      '--disable-dev-shm-usage',
      '--mute-audio',
      // Nothing but loopback: every host name fails to resolve, addresses are reached directly.
      '--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1',
      // Chromium refuses to run its sandbox as root (containers, CI).
      ...(process.getuid?.() === 0 ? ['--no-sandbox'] : []),
      'about:blank',
    ];
    // Its own process group, so a browser that does not close is ended with its helpers.
    const child = spawn(CHROMIUM, args, { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'], detached: true });
    const browser = new Browser(child, profile);
    try {
      await new Promise<void>((resolve, reject) => {
        child.once('spawn', resolve);
        child.once('error', reject);
      });
      await browser.send('Browser.getVersion');
    } catch (err) {
      await browser.close();
      throw err;
    }
    return browser;
  }

  send<T = any>(method: string, params: Record<string, unknown> = {}, sessionId?: string): Promise<T> {
    const id = this.#next++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`${method}: no answer from chromium within ${CALL_TIMEOUT_MS} ms`));
      }, CALL_TIMEOUT_MS);
      this.#pending.set(id, { resolve, reject, timer });
      this.#out.write(`${JSON.stringify({ id, method, params, ...(sessionId === undefined ? {} : { sessionId }) })}\0`);
    });
  }

  on(listener: (m: Message) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** A new tab with its own session; console, exceptions, log entries and dialogs are recorded. */
  async newPage(): Promise<Page> {
    const { targetId } = await this.send<{ targetId: string }>('Target.createTarget', { url: 'about:blank' });
    const { sessionId } = await this.send<{ sessionId: string }>('Target.attachToTarget', { targetId, flatten: true });
    const page = new Page(this, sessionId);
    await Promise.all(
      ['Page.enable', 'Runtime.enable', 'Log.enable', 'Debugger.enable'].map((m) => this.send(m, {}, sessionId)),
    );
    return page;
  }

  /** Closes the browser; one that does not exit in time is killed with its process group. */
  async close(): Promise<void> {
    if (this.#child.pid !== undefined && this.#child.exitCode === null && this.#child.signalCode === null) {
      await this.send('Browser.close').catch(() => undefined);
      const timer = setTimeout(() => {
        try {
          process.kill(-this.#child.pid!, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }, 5000);
      await this.#exited;
      clearTimeout(timer);
    }
    rmSync(this.#profile, { recursive: true, force: true });
  }

  #dispatch(m: Message): void {
    if (m.id !== undefined) {
      const p = this.#pending.get(m.id);
      if (p === undefined) return;
      this.#pending.delete(m.id);
      clearTimeout(p.timer);
      if (m.error !== undefined) p.reject(new Error(m.error.message));
      else p.resolve(m.result);
      return;
    }
    for (const l of this.#listeners) l(m);
  }
}

export class Page {
  readonly #browser: Browser;
  readonly #session: string;
  /** Console errors, uncaught exceptions and error log entries (failed loads, CSP violations). */
  readonly errors: string[] = [];
  /** alert/confirm/prompt dialogs the page opened (each dismissed at once). */
  readonly dialogs: string[] = [];
  /** URLs of the scripts the page itself compiled (inline scripts, event handlers); evaluate() adds none. */
  readonly pageScripts: string[] = [];

  constructor(browser: Browser, session: string) {
    this.#browser = browser;
    this.#session = session;
    browser.on((m) => {
      if (m.sessionId !== session) return;
      const p = m.params;
      if (m.method === 'Runtime.consoleAPICalled' && (p.type === 'error' || p.type === 'assert'))
        this.errors.push(`console.${p.type}: ${JSON.stringify(p.args.map((a: any) => a.value ?? a.description))}`);
      if (m.method === 'Runtime.exceptionThrown')
        this.errors.push(`exception: ${p.exceptionDetails.exception?.description ?? p.exceptionDetails.text}`);
      if (m.method === 'Log.entryAdded' && p.entry.level === 'error')
        this.errors.push(`log (${p.entry.source}): ${p.entry.text}`);
      if (m.method === 'Debugger.scriptParsed' && p.url !== '') this.pageScripts.push(p.url);
      if (m.method === 'Page.javascriptDialogOpening') {
        this.dialogs.push(`${p.type}: ${p.message}`);
        void this.#send('Page.handleJavaScriptDialog', { accept: false }).catch(() => undefined);
      }
    });
  }

  async setViewport(width: number, height: number): Promise<void> {
    await this.#send('Emulation.setDeviceMetricsOverride', { width, height, deviceScaleFactor: 1, mobile: false });
  }

  /** Loads a URL and resolves once its load event has fired. */
  async navigate(url: string): Promise<void> {
    const loaded = this.#loaded();
    const r = await this.#send<{ errorText?: string }>('Page.navigate', { url });
    if (r.errorText !== undefined) throw new Error(`navigation to ${url} failed: ${r.errorText}`);
    await loaded;
  }

  /** Evaluates an expression in the page and returns its value (JSON-serialisable). */
  async evaluate<T>(expression: string): Promise<T> {
    const r = await this.#send<{ result: { value: T }; exceptionDetails?: { text: string } }>('Runtime.evaluate', {
      expression,
      returnByValue: true,
    });
    if (r.exceptionDetails !== undefined) throw new Error(`evaluate failed: ${r.exceptionDetails.text}`);
    return r.result.value;
  }

  /** Clicks the centre of the element with a real mouse press and release; waits for the page it loads. */
  async clickAndWait(selector: string): Promise<void> {
    await this.evaluate(`document.querySelector(${JSON.stringify(selector)}).scrollIntoView({block: 'center'})`);
    const box = await this.evaluate<{ x: number; y: number } | null>(
      `(() => { const e = document.querySelector(${JSON.stringify(selector)}); if (!e) return null; const r = e.getBoundingClientRect(); return { x: r.left + r.width / 2, y: r.top + r.height / 2 }; })()`,
    );
    if (box === null) throw new Error(`no element ${selector}`);
    const loaded = this.#loaded();
    for (const type of ['mouseMoved', 'mousePressed', 'mouseReleased']) {
      await this.#send('Input.dispatchMouseEvent', {
        type,
        x: box.x,
        y: box.y,
        button: type === 'mouseMoved' ? 'none' : 'left',
        clickCount: 1,
      });
    }
    await loaded;
  }

  /** A PNG of the whole page, written to `path`. */
  async screenshot(path: string): Promise<void> {
    const { data } = await this.#send<{ data: string }>('Page.captureScreenshot', {
      format: 'png',
      captureBeyondViewport: true,
    });
    writeFileSync(path, Buffer.from(data, 'base64'));
  }

  #loaded(): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new Error(`page load did not finish within ${CALL_TIMEOUT_MS} ms`));
      }, CALL_TIMEOUT_MS);
      const off = this.#browser.on((m) => {
        if (m.sessionId === this.#session && m.method === 'Page.loadEventFired') {
          clearTimeout(timer);
          off();
          resolve();
        }
      });
    });
  }

  #send<T = any>(method: string, params: Record<string, unknown> = {}): Promise<T> {
    return this.#browser.send<T>(method, params, this.#session);
  }
}
