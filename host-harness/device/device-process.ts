/*
 * A running device on this PC (the Node-hosted device or the simulator):
 * the processes it took, its log as it arrives, and the moment it reports
 * its services up. Every process is tracked by PID and stopped by PID.
 */

import type { ChildProcess } from "node:child_process";
import { EventEmitter } from "node:events";
import { type LogLine, parseLogLine, type ServicesUp, servicesUp } from "./log-line.js";

/** The device ended before its services were up. message: one line when the device said why (its last error line), else with its log's tail. */
export class DeviceExited extends Error {
	/** The device's last log lines ("  | …" each). */
	readonly context: string;
	constructor(message: string, context: string) {
		super(message);
		this.context = context;
	}
}

export class DeviceProcess extends EventEmitter<{ log: [LogLine]; exit: [number | null, NodeJS.Signals | null] }> {
	readonly log: LogLine[] = [];
	readonly ready: Promise<ServicesUp>;
	exited = false;
	exitCode: number | null = null;
	#child: ChildProcess;
	#cleanups: (() => Promise<void> | void)[] = [];
	#partial = "";

	constructor(
		child: ChildProcess,
		readonly name: string,
		readyTimeoutMs: number,
	) {
		super();
		this.#child = child;
		child.stdout?.setEncoding("utf8");
		child.stdout?.on("data", (text: string) => this.#receive(text));
		child.stderr?.setEncoding("utf8");
		child.stderr?.on("data", (text: string) => this.#receive(text));
		this.ready = new Promise<ServicesUp>((resolve, reject) => {
			const timer = setTimeout(() => reject(new Error(`${name} did not report its services up within ${readyTimeoutMs} ms\n${this.tail()}`)), readyTimeoutMs);
			const onLog = (line: LogLine) => {
				const up = servicesUp(line);
				if (up) {
					clearTimeout(timer);
					this.off("log", onLog);
					resolve(up);
				}
			};
			this.on("log", onLog);
			this.once("exit", (code, signal) => {
				clearTimeout(timer);
				// Say why, when the device said it: its last error line.
				const error = [...this.log].reverse().find(line => line.level === "E");
				const said = `${name} exited (${signal ?? code}) before its services were up`;
				reject(new DeviceExited(error ? `${said}: ${error.tag}: ${error.message}` : `${said}\n${this.tail()}`, this.tail()));
			});
		});
		this.ready.catch(() => {}); // callers that never await it must not crash the process
		child.once("exit", (code, signal) => {
			this.exited = true;
			this.exitCode = code;
			this.#flush();
			this.emit("exit", code, signal);
		});
	}

	get pid(): number | undefined {
		return this.#child.pid;
	}

	/** Work to do after the device process is gone (stop Xvfb, remove files). */
	onStopped(cleanup: () => Promise<void> | void): void {
		this.#cleanups.push(cleanup);
	}

	#receive(text: string): void {
		const lines = (this.#partial + text).split("\n");
		this.#partial = lines.pop() ?? "";
		for (const raw of lines) this.#line(raw.replace(/\r$/, ""));
	}

	#flush(): void {
		if (this.#partial) this.#line(this.#partial);
		this.#partial = "";
	}

	#line(raw: string): void {
		if (!raw) return;
		const line = parseLogLine(raw);
		this.log.push(line);
		if (this.log.length > 20_000) this.log.splice(0, 10_000);
		this.emit("log", line);
	}

	/** The last lines of the log, for error messages. */
	tail(count = 15): string {
		return this.log
			.slice(-count)
			.map(l => `  | ${l.raw}`)
			.join("\n");
	}

	/** Resolves with the first log line (already logged or to come) that matches. */
	waitForLog(pattern: RegExp, timeoutMs = 10_000, from = 0): Promise<LogLine> {
		const earlier = this.log.slice(from).find(l => pattern.test(l.raw));
		if (earlier) return Promise.resolve(earlier);
		return new Promise((resolve, reject) => {
			const timer = setTimeout(() => {
				this.off("log", onLog);
				reject(new Error(`${this.name}: no log line matching ${pattern} within ${timeoutMs} ms\n${this.tail()}`));
			}, timeoutMs);
			const onLog = (line: LogLine) => {
				if (pattern.test(line.raw)) {
					clearTimeout(timer);
					this.off("log", onLog);
					resolve(line);
				}
			};
			this.on("log", onLog);
		});
	}

	/** Stop the device (SIGTERM, then SIGKILL after a grace period) and everything started for it. */
	async stop(graceMs = 3000): Promise<void> {
		if (!this.exited && this.#child.pid) {
			const gone = new Promise<void>(resolve => this.#child.once("exit", () => resolve()));
			this.#child.kill("SIGTERM");
			const timer = setTimeout(() => this.#child.kill("SIGKILL"), graceMs);
			await gone;
			clearTimeout(timer);
		}
		for (const cleanup of this.#cleanups.splice(0).reverse()) await cleanup();
	}
}
