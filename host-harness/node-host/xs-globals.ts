/*
 * The XS built-ins device code uses that Node lacks, installed on globalThis
 * for the Node-hosted device and for unit tests of device modules:
 *
 * - trace(...values): XS prints each value as text, no newline added. Here
 *   it goes to the sink set with setTraceSink (stdout by default).
 * - ArrayBuffer.fromString(s): UTF-8 bytes of s.
 * - String.fromArrayBuffer(b): b decoded as UTF-8. XS throws on malformed
 *   UTF-8; so does this one (fatal decoder).
 * - ArrayBuffer.prototype.concat(...buffers).
 */

type TraceSink = (text: string) => void;

let sink: TraceSink = text => process.stdout.write(text);
let holds = 0;
let held: string[] = [];

export function setTraceSink(next: TraceSink): void {
	sink = next;
}

/**
 * Hold trace output back while a platform operation that is synchronous on
 * the device is still completing here (node:dgram binds asynchronously):
 * nothing the app logs after it, such as "services up", reaches the harness
 * before the operation is done.
 */
export function holdTrace(): () => void {
	holds++;
	let released = false;
	return () => {
		if (released) return;
		released = true;
		if (--holds === 0) {
			const out = held;
			held = [];
			for (const text of out) sink(text);
		}
	};
}

function emit(text: string): void {
	if (holds) held.push(text);
	else sink(text);
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

export function installXsGlobals(): void {
	const g = globalThis as Record<string, unknown>;
	g.trace = (...values: unknown[]) => {
		for (const value of values) emit(String(value));
	};
	const ab = ArrayBuffer as unknown as Record<string, unknown>;
	ab.fromString = (text: string): ArrayBuffer => {
		const bytes = new TextEncoder().encode(text);
		return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
	};
	const str = String as unknown as Record<string, unknown>;
	str.fromArrayBuffer = (buffer: ArrayBufferLike): string => strictUtf8.decode(new Uint8Array(buffer));
	const proto = ArrayBuffer.prototype as unknown as Record<string, unknown>;
	proto.concat = function (this: ArrayBuffer, ...buffers: ArrayBufferLike[]): ArrayBuffer {
		const total = buffers.reduce((sum, b) => sum + b.byteLength, this.byteLength);
		const out = new Uint8Array(total);
		out.set(new Uint8Array(this), 0);
		let at = this.byteLength;
		for (const b of buffers) {
			out.set(new Uint8Array(b), at);
			at += b.byteLength;
		}
		return out.buffer;
	};
}
