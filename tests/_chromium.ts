/**
 * A headless Chromium driven through the DevTools protocol over Deno's built-in WebSocket: just
 * enough to open a page, collect its console errors and exceptions, evaluate expressions in it
 * and take a screenshot.
 *
 * @module
 */

/** The Chromium binary: `HALFPREC_CHROMIUM`, else the first of the usual names on the PATH. */
export function findChromium(): string | undefined {
  const explicit = Deno.env.get("HALFPREC_CHROMIUM");
  if (explicit) return explicit;
  const dirs = (Deno.env.get("PATH") ?? "").split(":").filter((d) => d !== "");
  for (const name of ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"]) {
    for (const dir of dirs) {
      try {
        if (Deno.statSync(`${dir}/${name}`).isFile) return `${dir}/${name}`;
      } catch {
        // Not in this folder: look in the next.
      }
    }
  }
  return undefined;
}

/** A page open in a headless Chromium; {@linkcode Browser.close} ends the browser. */
export class Browser {
  readonly #process: Deno.ChildProcess;
  readonly #socket: WebSocket;
  readonly #profile: string;
  readonly #pending = new Map<number, (message: CdpMessage) => void>();
  #sessionId?: string;
  #nextId = 1;
  /** Console errors, uncaught exceptions and error log entries of the page, as text. */
  readonly errors: string[] = [];
  #loaded!: () => void;
  /** Settles when the page has fired its load event after {@linkcode Browser.open}. */
  loaded: Promise<void> = Promise.resolve();

  private constructor(process: Deno.ChildProcess, socket: WebSocket, profile: string) {
    this.#process = process;
    this.#socket = socket;
    this.#profile = profile;
    socket.onmessage = (event) => this.#receive(JSON.parse(event.data));
  }

  /** Starts `binary` headless with an empty profile and attaches to a blank page. */
  static async launch(binary: string): Promise<Browser> {
    const profile = await Deno.makeTempDir({ prefix: "halfprec-chromium-" });
    const process = new Deno.Command(binary, {
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--hide-scrollbars",
        "--remote-debugging-port=0",
        `--user-data-dir=${profile}`,
        "about:blank",
      ],
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const url = await devtoolsUrl(process.stderr);
    const socket = new WebSocket(url);
    await new Promise((resolve, reject) => {
      socket.onopen = resolve;
      socket.onerror = () => reject(new Error(`Cannot connect to Chromium at ${url}`));
    });
    const browser = new Browser(process, socket, profile);
    // Commands without a session go to the browser; the page's need the session attached here.
    const { targetId } = await browser.send("Target.createTarget", { url: "about:blank" });
    const { sessionId } = await browser.send("Target.attachToTarget", { targetId, flatten: true });
    browser.#sessionId = sessionId as string;
    for (const domain of ["Page", "Runtime", "Log"]) await browser.send(`${domain}.enable`);
    return browser;
  }

  /** Sends a DevTools command to the page (to the browser before one is attached) and returns its result, or throws its error. */
  async send(method: string, params: Record<string, unknown> = {}): Promise<CdpResult> {
    const id = this.#nextId++;
    const reply = new Promise<CdpMessage>((resolve) => this.#pending.set(id, resolve));
    const sessionId = this.#sessionId;
    this.#socket.send(JSON.stringify({ id, method, params, ...(sessionId && { sessionId }) }));
    const message = await reply;
    if (message.error) throw new Error(`${method} failed: ${message.error.message}`);
    return message.result ?? {};
  }

  /** Navigates to `url`; {@linkcode Browser.loaded} settles on its load event. */
  async open(url: string): Promise<void> {
    this.loaded = new Promise((resolve) => this.#loaded = resolve);
    await this.send("Page.navigate", { url });
  }

  /** The value of `expression` in the page (awaited when it is a promise), as JSON allows. */
  async evaluate<T>(expression: string): Promise<T> {
    const { result, exceptionDetails } = await this.send("Runtime.evaluate", {
      expression,
      awaitPromise: true,
      returnByValue: true,
    }) as { result: { value: T }; exceptionDetails?: { text: string } };
    if (exceptionDetails) {
      throw new Error(`Cannot evaluate ${expression}: ${exceptionDetails.text}`);
    }
    return result.value;
  }

  /** Polls `expression` every 100 ms until it is truthy; throws after `seconds`. */
  async waitFor(expression: string, seconds: number): Promise<void> {
    const deadline = Date.now() + seconds * 1000;
    while (!await this.evaluate<boolean>(`Boolean(${expression})`)) {
      if (Date.now() > deadline) {
        throw new Error(`Timed out after ${seconds} s waiting for ${expression}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** A PNG of the page at `width` x `height` CSS pixels. */
  async screenshot(width: number, height: number): Promise<Uint8Array> {
    await this.send("Emulation.setDeviceMetricsOverride", {
      width,
      height,
      deviceScaleFactor: 1,
      mobile: false,
    });
    const { data } = await this.send("Page.captureScreenshot", { format: "png" });
    return Uint8Array.from(atob(data as string), (c) => c.charCodeAt(0));
  }

  /** Ends the browser and removes its profile. */
  async close(): Promise<void> {
    this.#socket.close();
    this.#process.kill();
    await this.#process.status;
    // Chromium's helper processes (crash handler, utilities) can outlive the browser by a moment
    // and still write into the profile: a removal that meets a new file is tried again.
    for (let attempt = 1;; attempt++) {
      try {
        return await Deno.remove(this.#profile, { recursive: true });
      } catch (error) {
        const notEmpty = error instanceof Error && /not empty/i.test(error.message);
        if (!notEmpty || attempt === 50) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }

  #receive(message: CdpMessage): void {
    if (message.id !== undefined) {
      this.#pending.get(message.id)?.(message);
      this.#pending.delete(message.id);
      return;
    }
    const params = message.params as Record<string, never>;
    if (message.method === "Page.loadEventFired") this.#loaded?.();
    else if (message.method === "Runtime.exceptionThrown") {
      const details = params.exceptionDetails as {
        text: string;
        exception?: { description?: string };
      };
      this.errors.push(`exception: ${details.exception?.description ?? details.text}`);
    } else if (message.method === "Runtime.consoleAPICalled" && params.type === "error") {
      const args = params.args as { value?: unknown; description?: string }[];
      this.errors.push(`console.error: ${args.map((a) => a.description ?? a.value).join(" ")}`);
    } else if (message.method === "Log.entryAdded") {
      const entry = params.entry as { level: string; text: string; url?: string };
      if (entry.level === "error") this.errors.push(`log: ${entry.text} ${entry.url ?? ""}`);
    }
  }
}

/** A DevTools protocol message: a reply (id) or an event (method). */
interface CdpMessage {
  id?: number;
  method?: string;
  params?: Record<string, unknown>;
  result?: CdpResult;
  error?: { message: string };
}

/** The result of a DevTools command. */
type CdpResult = Record<string, unknown>;

/** Reads Chromium's stderr up to the line naming its DevTools WebSocket. */
async function devtoolsUrl(stderr: ReadableStream<Uint8Array>): Promise<string> {
  let text = "";
  const reader = stderr.pipeThrough(new TextDecoderStream()).getReader();
  const timeout = setTimeout(() => reader.cancel(), 30_000);
  try {
    while (true) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
      const match = text.match(/DevTools listening on (ws:\/\/\S+)/);
      if (match) {
        // The rest of stderr is not read: drain it so that Chromium never blocks on it.
        (async () => {
          try {
            while (!(await reader.read()).done);
          } catch {
            // The browser was closed.
          }
        })();
        return match[1];
      }
    }
  } finally {
    clearTimeout(timeout);
  }
  throw new Error(
    `Chromium did not start its DevTools server; it said: ${text.trim().slice(-500)}`,
  );
}
