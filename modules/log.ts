/*
 * Tagged device log, in the ESP-IDF format users already read:
 *
 *     I (2034) tcp-server: Socket accepted ip address: 192.168.1.20:51234
 *
 * level, milliseconds since boot, tag, message. Everything goes through XS
 * `trace()`, so the same lines reach xsbug on a board, stdout of the
 * simulator, and stdout of the Node-hosted device; the harness parses them.
 */

const bootTime = Date.now();

export type LogLevel = "E" | "W" | "I" | "D";

export class Log {
	readonly tag: string;

	constructor(tag: string) {
		this.tag = tag;
	}

	info(message: string): void {
		emit("I", this.tag, message);
	}

	warn(message: string): void {
		emit("W", this.tag, message);
	}

	error(message: string): void {
		emit("E", this.tag, message);
	}
}

function emit(level: LogLevel, tag: string, message: string): void {
	trace(`${level} (${Date.now() - bootTime}) ${tag}: ${message}\n`);
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
		if ((c < 0x20 || c > 0x7e) && c !== 0x0a && c !== 0x0d && c !== 0x09)
			return `<${bytes.byteLength} bytes binary>`;
	}
	const text = String.fromCharCode(...view).replace(/[\r\n\t]/g, " ");
	return bytes.byteLength > limit ? `${text}…` : text;
}
