/*
 * A headless Chromium driven over the DevTools protocol, for the dashboard's
 * test and its screenshot: Debian's chromium-headless-shell or chromium,
 * started with a private profile, one page opened at a URL, expressions
 * evaluated in it. Only what those need: no library beyond `ws`.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import WebSocket from "ws";

/** The Chromium to drive: $CHROMIUM if set ("none": none), else the first on PATH. */
export function findChromium(env: NodeJS.ProcessEnv = process.env): string | undefined {
	if (env.CHROMIUM !== undefined) return env.CHROMIUM === "none" || env.CHROMIUM === "" ? undefined : env.CHROMIUM;
	for (const name of ["chromium-headless-shell", "chromium", "chromium-browser", "google-chrome"]) {
		const found = spawnSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" }).stdout.trim();
		if (found) return found;
	}
	return undefined;
}

export class HeadlessPage {
	#next = 1;
	/** The page's log (Log.entryAdded, from Log.enable on: earlier entries too), as "level source: text". */
	readonly log: string[] = [];
	readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

	private constructor(
		readonly browser: ChildProcess,
		readonly profile: string,
		readonly socket: WebSocket,
		readonly sessionId: string,
	) {
		socket.removeAllListeners("message");
		socket.on("message", data => this.#receive(data.toString()));
	}

	/** Start Chromium headless (with `args` besides the harness's own) and open `url` in a page of its own. */
	static async open(chromium: string, url: string, size = { width: 1200, height: 900 }, args: string[] = []): Promise<HeadlessPage> {
		const profile = fs.mkdtempSync(path.join(os.tmpdir(), "xsnk-chromium-"));
		const browser = spawn(
			chromium,
			[
				"--headless",
				"--no-sandbox",
				"--disable-gpu",
				"--hide-scrollbars",
				`--window-size=${size.width},${size.height}`,
				"--remote-debugging-port=0",
				`--user-data-dir=${profile}`,
				...args,
				"about:blank",
			],
			{ stdio: ["ignore", "ignore", "pipe"], detached: true },
		);
		// A group of its own: Debian's /usr/bin/chromium* are shell scripts, and the browser and its helpers are their children.
		try {
			const endpoint = await new Promise<string>((resolve, reject) => {
				let text = "";
				const timer = setTimeout(() => reject(new Error(`Chromium gave no DevTools endpoint within 20 s:\n${text}`)), 20_000);
				browser.stderr!.on("data", (d: Buffer) => {
					text += d;
					const match = /DevTools listening on (ws:\/\/\S+)/.exec(text);
					if (match) {
						clearTimeout(timer);
						resolve(match[1]);
					}
				});
				browser.once("exit", code => reject(new Error(`Chromium exited (${code}):\n${text}`)));
			});
			const socket = new WebSocket(endpoint, { perMessageDeflate: false });
			await new Promise((resolve, reject) => socket.once("open", resolve).once("error", reject));
			const raw = new HeadlessPage(browser, profile, socket, "");
			const { targetId } = (await raw.send("Target.createTarget", { url })) as { targetId: string };
			const { sessionId } = (await raw.send("Target.attachToTarget", { targetId, flatten: true })) as { sessionId: string };
			const page = new HeadlessPage(browser, profile, socket, sessionId);
			await page.send("Log.enable");
			return page;
		} catch (e) {
			try {
				process.kill(-browser.pid!, "SIGTERM");
			} catch {
				// already gone
			}
			throw e;
		}
	}

	/** What the page logged about mixed content (an https page loading or opening anything over http/ws). */
	get mixedContent(): string[] {
		return this.log.filter(line => /mixed content/i.test(line));
	}

	#receive(text: string): void {
		const message = JSON.parse(text) as {
			id?: number;
			result?: unknown;
			error?: { message: string };
			method?: string;
			params?: { entry?: { level: string; source: string; text: string } };
		};
		if (message.method === "Log.entryAdded" && message.params?.entry) {
			const { level, source, text: said } = message.params.entry;
			this.log.push(`${level} ${source}: ${said}`);
		}
		const waiter = message.id !== undefined ? this.#pending.get(message.id) : undefined;
		if (waiter) {
			this.#pending.delete(message.id!);
			if (message.error) waiter.reject(new Error(message.error.message));
			else waiter.resolve(message.result);
		}
	}

	send(method: string, params: Record<string, unknown> = {}): Promise<unknown> {
		const id = this.#next++;
		return new Promise((resolve, reject) => {
			this.#pending.set(id, { resolve, reject });
			this.socket.send(JSON.stringify({ id, method, params, ...(this.sessionId ? { sessionId: this.sessionId } : {}) }));
		});
	}

	/** The value of a JavaScript expression in the page (awaited if a promise). */
	async evaluate<T>(expression: string): Promise<T> {
		const result = (await this.send("Runtime.evaluate", { expression, returnByValue: true, awaitPromise: true })) as {
			result: { value: T };
			exceptionDetails?: { text: string };
		};
		if (result.exceptionDetails) throw new Error(`${expression}: ${result.exceptionDetails.text}`);
		return result.result.value;
	}

	/** A PNG of the page as it is. */
	async screenshot(file: string): Promise<void> {
		const { data } = (await this.send("Page.captureScreenshot", { format: "png" })) as { data: string };
		fs.writeFileSync(file, Buffer.from(data, "base64"));
	}

	async close(): Promise<void> {
		this.socket.close();
		const exited = new Promise(resolve => (this.browser.exitCode !== null ? resolve(undefined) : this.browser.once("exit", resolve)));
		try {
			process.kill(-this.browser.pid!, "SIGTERM"); // the whole group: the wrapper script, the browser, its helpers
		} catch {
			// already gone
		}
		await exited;
		// Chromium's helper processes may still be writing the profile for a moment.
		try {
			fs.rmSync(this.profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
		} catch {
			// left in the temp folder
		}
	}
}
