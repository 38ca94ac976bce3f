/*
 * Test helpers for the WebSocket core: an independent reference frame
 * encoder (so parser tests don't depend on FrameWriter) and recorders.
 */
import type { FrameHandler } from "websocket/frame-parser";
import type { MessageHandler } from "websocket/message-reader";

export interface RawFrame {
	fin?: boolean;
	rsv?: number; // header bits 0x70
	opcode: number;
	payload?: Uint8Array | string;
	mask?: Uint8Array | false; // 4 bytes; false/undefined: unmasked
	/** Force a length encoding: 7, 16 or 64 bits (default minimal). */
	lengthBits?: 7 | 16 | 64;
	/** Override the 64-bit length's high 32 bits (to test the top bit). */
	high?: number;
}

export function bytes(data: Uint8Array | string | undefined): Uint8Array {
	if (data === undefined) return new Uint8Array(0);
	return typeof data === "string" ? new TextEncoder().encode(data) : data;
}

export function encode(frame: RawFrame): Uint8Array {
	const payload = bytes(frame.payload);
	const length = payload.length;
	const bits = frame.lengthBits ?? (length < 126 ? 7 : length < 65536 ? 16 : 64);
	const mask = frame.mask || undefined;
	const header: number[] = [((frame.fin ?? true) ? 0x80 : 0) | (frame.rsv ?? 0) | frame.opcode];
	const maskBit = mask ? 0x80 : 0;
	if (bits === 7) header.push(maskBit | length);
	else if (bits === 16) header.push(maskBit | 126, length >> 8, length & 0xff);
	else {
		const high = frame.high ?? Math.floor(length / 2 ** 32);
		const low = length >>> 0;
		header.push(
			maskBit | 127,
			high >>> 24,
			(high >> 16) & 0xff,
			(high >> 8) & 0xff,
			high & 0xff,
			low >>> 24,
			(low >> 16) & 0xff,
			(low >> 8) & 0xff,
			low & 0xff,
		);
	}
	if (mask) header.push(...mask);
	const out = new Uint8Array(header.length + length);
	out.set(header);
	for (let i = 0; i < length; i++) out[header.length + i] = mask ? payload[i] ^ mask[i & 3] : payload[i];
	return out;
}

export function concat(...parts: Uint8Array[]): Uint8Array {
	const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
	let at = 0;
	for (const p of parts) {
		out.set(p, at);
		at += p.length;
	}
	return out;
}

/** A fresh ArrayBuffer holding a copy of bytes[from, to). */
export function chunk(data: Uint8Array, from = 0, to = data.length): ArrayBuffer {
	return data.slice(from, to).buffer;
}

/** Feed `data` split at the given positions (each split gets its own ArrayBuffer). */
export function feedSplit(feed: (chunk: ArrayBuffer) => void, data: Uint8Array, splits: number[]): void {
	let from = 0;
	for (const at of [...splits, data.length]) {
		if (at > from) feed(chunk(data, from, at));
		from = Math.max(from, at);
	}
}

export function hex(buffer: ArrayBuffer | Uint8Array): string {
	return Buffer.from(buffer instanceof ArrayBuffer ? new Uint8Array(buffer) : buffer).toString("hex");
}

export const MASK = Uint8Array.of(0x37, 0xfa, 0x21, 0x3d);

/** Records FrameParser events, merging consecutive data pieces of a frame. */
export class FrameRecorder implements FrameHandler {
	events: unknown[] = [];
	pieces: number[] = [];
	private data: number[] | undefined;

	onFrameStart(opcode: number, fin: boolean, length: number, rsv: number): void {
		this.events.push({ start: opcode, fin, length, rsv });
		this.data = [];
	}
	onData(piece: ArrayBuffer): void {
		if (!(piece instanceof ArrayBuffer) || piece.byteLength === 0) throw new Error("bad piece");
		this.pieces.push(piece.byteLength);
		this.data!.push(...new Uint8Array(piece));
	}
	onFrameEnd(): void {
		this.events.push({ data: Buffer.from(this.data!).toString("hex") });
		this.data = undefined;
	}
	onControl(opcode: number, payload: ArrayBuffer): void {
		this.events.push({ control: opcode, payload: hex(payload) });
	}
	onProtocolError(closeCode: number, reason: string): void {
		this.events.push({ error: closeCode, reason });
	}
}

/** Records MessageReader events. Data as hex; text messages also decoded. */
export class MessageRecorder implements MessageHandler {
	// biome-ignore lint/suspicious/noExplicitAny: events of every shape, compared with toEqual
	events: any[] = [];
	private streamed: number[] = [];

	onMessageStart(type: number, length: number | undefined): void {
		this.events.push({ start: type, length });
		this.streamed = [];
	}
	onMessageData(piece: ArrayBuffer, last: boolean): void {
		this.streamed.push(...new Uint8Array(piece));
		if (last) this.events.push({ last: true });
	}
	onMessageEnd(): void {
		this.events.push({ end: Buffer.from(this.streamed).toString("hex") });
	}
	onMessage(type: number, data: ArrayBuffer): void {
		this.events.push({ message: type, data: hex(data) });
	}
	onPing(payload: ArrayBuffer): void {
		this.events.push({ ping: hex(payload) });
	}
	onPong(payload: ArrayBuffer): void {
		this.events.push({ pong: hex(payload) });
	}
	onCloseFrame(code: number | undefined, reason: string): void {
		this.events.push({ close: code, reason });
	}
	onProtocolError(closeCode: number, reason: string): void {
		this.events.push({ error: closeCode, reason });
	}

	get errors(): number[] {
		return this.events.filter(e => "error" in e).map(e => e.error);
	}
}

/** MessageRecorder taking pieces as ranges of the fed chunk (onMessageRange): the same events. */
export class RangeMessageRecorder extends MessageRecorder {
	readonly pieces: { whole: boolean; length: number }[] = [];
	onMessageRange(chunk: ArrayBuffer, start: number, end: number, last: boolean): void {
		if (!(chunk instanceof ArrayBuffer) || !(end > start) || start < 0 || end > chunk.byteLength) throw new Error("bad range");
		this.pieces.push({ whole: start === 0 && end === chunk.byteLength, length: end - start });
		this.onMessageData(chunk.slice(start, end), last);
	}
}
