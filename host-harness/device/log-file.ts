/*
 * A board's log, for the suites: `host-harness check --device <ip> --logs`
 * runs an xsbug-protocol log server (the board's debug build reaches it
 * through serial2xsbug) and appends each line to a file; the suites, in
 * their own processes, read that file as they would a device process's
 * output.
 */

import * as fs from "node:fs";
import { type LogLine, parseLogLine } from "./log-line.js";

/** What the suites read of a device's log, whatever carries it. */
export interface DeviceLog {
	readonly log: LogLine[];
	readonly exited: boolean;
	readonly pid?: number;
	waitForLog(pattern: RegExp, timeoutMs?: number, from?: number): Promise<LogLine>;
}

export class LogFile implements DeviceLog {
	readonly exited = false;
	readonly #file: string;
	readonly #lines: LogLine[] = [];
	#offset = 0;
	#partial = "";

	constructor(file: string) {
		this.#file = file;
	}

	/** Append one line (the writer side: host-harness check). */
	static append(file: string, text: string): void {
		fs.appendFileSync(file, `${text.replace(/\n/g, " ")}\n`);
	}

	get log(): LogLine[] {
		this.#read();
		return this.#lines;
	}

	#read(): void {
		let size = 0;
		try {
			size = fs.statSync(this.#file).size;
		} catch {
			return;
		}
		if (size <= this.#offset) return;
		const fd = fs.openSync(this.#file, "r");
		try {
			const buffer = Buffer.alloc(size - this.#offset);
			fs.readSync(fd, buffer, 0, buffer.length, this.#offset);
			this.#offset = size;
			const lines = (this.#partial + buffer.toString("utf8")).split("\n");
			this.#partial = lines.pop() ?? "";
			for (const raw of lines) if (raw) this.#lines.push(parseLogLine(raw));
		} finally {
			fs.closeSync(fd);
		}
	}

	async waitForLog(pattern: RegExp, timeoutMs = 10_000, from = 0): Promise<LogLine> {
		const end = Date.now() + timeoutMs;
		for (;;) {
			const found = this.log.slice(from).find(l => pattern.test(l.raw));
			if (found) return found;
			if (Date.now() > end)
				throw new Error(
					`board log (${this.#file}): no line matching ${pattern} within ${timeoutMs} ms\n${this.log
						.slice(-10)
						.map(l => `  | ${l.raw}`)
						.join("\n")}`,
				);
			await new Promise(r => setTimeout(r, 100));
		}
	}
}
