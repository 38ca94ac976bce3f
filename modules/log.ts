/*
 * Tagged device log, in the ESP-IDF format users already read:
 *
 *     I (2034) tcp-server: Socket accepted ip address: 192.168.1.20:51234
 *
 * level, milliseconds since boot, tag, message. Everything goes through XS
 * `trace()`, so the same lines reach xsbug on a board, stdout of the
 * simulator, and stdout of the Node-hosted device; the harness parses them.
 *
 * Levels (config `logLevel`): error, warn, info, debug. Lines per message or
 * datagram are debug: at 115200 baud a serial log moves about 11 KB/s, so a
 * line per message would cap a board's throughput. A caller checks
 * `log.debugging` before it formats such a line, so a build that does not
 * print it does not build the string either.
 *
 * `followLog(listener)` hands every line printed from then on to one
 * listener as well (the app's log route sends them over the network); a
 * line logged while the listener runs is printed only, so a listener that
 * logs cannot feed itself.
 *
 * `log.console(message)` prints a line that never goes to the follower:
 * for what must stay on the device's own console (serial, xsbug, the host
 * targets' stdout) and never cross the network, such as the provisioning
 * passphrase. It is printed whatever the level: a line a person needs to
 * read off the console is no debug detail.
 */

import mcConfig from "mc/config";

/**
 * Time zero of the log: taken at the first line, at run time. Not at module
 * load: a preloaded module is loaded when the image is built, and it may not
 * hold state it changes (its objects live in flash), so the time is kept on
 * the global object, which is the running machine's.
 */
function since(): number {
	const now = Date.now();
	const global = globalThis as { xsNetkitLogStart?: number };
	return now - (global.xsNetkitLogStart ??= now);
}

/**
 * Highest level printed: 0 error, 1 warn, 2 info, 3 debug. Read from `mc/config`
 * itself, not from our app's schema, so any app that includes the libraries sets
 * it in its own manifest; our app's schema reports a value it does not know, and
 * the log then prints at info.
 */
const configured = ["error", "warn", "info", "debug"].indexOf(String((mcConfig as Record<string, unknown>).logLevel ?? "info").trim());
const threshold = configured < 0 ? 2 : configured;

/** Whether debug lines are printed (the build's logLevel), as every Log's debugging says: for a hot path, a constant to test, not a getter to call. */
export const debugging = threshold >= 3;

export type LogLevel = "E" | "W" | "I" | "D";

export class Log {
	readonly tag: string;

	constructor(tag: string) {
		this.tag = tag;
		Object.freeze(this); // module-level logs are preloaded into flash with their module
	}

	/** Whether debug lines are printed: test it before formatting one. */
	get debugging(): boolean {
		return debugging;
	}

	debug(message: string): void {
		if (threshold >= 3) emit("D", this.tag, message);
	}

	info(message: string): void {
		if (threshold >= 2) emit("I", this.tag, message);
	}

	warn(message: string): void {
		if (threshold >= 1) emit("W", this.tag, message);
	}

	error(message: string): void {
		emit("E", this.tag, message);
	}

	/** Printed on the console only, at any level: never handed to followLog's listener (never sent over the network). */
	console(message: string): void {
		trace(`I (${since()}) ${this.tag}: ${message}\n`);
	}
}

/** The log's follower and whether it is running, kept on the global object (the running machine's), as the time zero is. */
interface LogState {
	xsNetkitLogFollower?: (line: string) => void;
	xsNetkitLogFollowing?: boolean;
}

/** Hand every line printed from now on (without its line end) to `listener` too; undefined stops. One listener at a time. */
export function followLog(listener: ((line: string) => void) | undefined): void {
	(globalThis as LogState).xsNetkitLogFollower = listener;
}

function emit(level: LogLevel, tag: string, message: string): void {
	const line = `${level} (${since()}) ${tag}: ${message}`;
	trace(`${line}\n`);
	const state = globalThis as LogState;
	const follower = state.xsNetkitLogFollower;
	if (!follower || state.xsNetkitLogFollowing) return;
	state.xsNetkitLogFollowing = true;
	try {
		follower(line);
	} finally {
		state.xsNetkitLogFollowing = false;
	}
}

/** "192.168.1.20:51234" for a socket's peer, as the ESP-IDF examples print it. */
export function peerName(address: string | undefined, port: number | undefined): string {
	return `${address ?? "?"}:${port ?? "?"}`;
}

/** A short, printable preview of received bytes: text when it is printable ASCII, else a byte count. */
export function preview(bytes: ArrayBuffer, limit = 32): string {
	const view = new Uint8Array(bytes, 0, Math.min(bytes.byteLength, limit));
	for (let i = 0; i < view.length; i++) {
		const c = view[i];
		if ((c < 0x20 || c > 0x7e) && c !== 0x0a && c !== 0x0d && c !== 0x09) return `<${bytes.byteLength} bytes binary>`;
	}
	const text = String.fromCharCode(...view).replace(/[\r\n\t]/g, " ");
	return bytes.byteLength > limit ? `${text}…` : text;
}
