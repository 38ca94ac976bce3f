/*
 * `websocket/utf8` for the Node-hosted device and unit tests: the host twin
 * of the device's native module (websocket/utf8.js + websocket/utf8.c),
 * which the Node-hosted device cannot load (no C). Same rules, same state,
 * same argument checks, in JS; the byte loop is utf8.c's line for line.
 *
 * validate(bytes, start, end, state) -> the state after bytes[start, end),
 * or -1 at the first byte that proves the input invalid (UTF-8 per
 * RFC 3629 / Unicode Table 3-7: no overlongs, no surrogates, nothing above
 * U+10FFFF). state = need | lower << 8 | upper << 16, 0 on a code point
 * boundary; a negative state is returned as -1 without reading a byte.
 *
 * Argument checks, in utf8.c's order: fewer than 4 arguments: TypeError;
 * state not a number: TypeError; not a whole number in int32, or an
 * encoding utf8.c would not produce: RangeError; bytes not an ArrayBuffer,
 * byte-sized typed array or DataView: TypeError("invalid buffer") (as
 * xsmcGetBufferReadable; a view reads its own bytes only); end, then start,
 * not a number: TypeError; not a whole number with
 * 0 <= start <= end <= the view's length: RangeError.
 *
 * A detached buffer is a TypeError, as on XS (V8 refuses a view of it).
 *
 * Deviations: error messages are utf8.c's in substance, not byte for byte
 * (a detached buffer's is V8's). Speed: V8 runs this loop, not XS; the
 * Node-hosted device's figures say nothing of the C loop's.
 */

import { byteBuffer } from "./buffers.js";

/** What validate() reads (websocket/utf8.d.ts's type): an ArrayBuffer, a byte-sized typed array or a DataView. */
export type Utf8Bytes = ArrayBuffer | Uint8Array | Int8Array | Uint8ClampedArray | DataView;

function index(value: unknown, limit: number, name: string): number {
	if (typeof value !== "number") throw new TypeError(`${name}: not a number`);
	if (!(value >= 0 && value <= limit) || !Number.isInteger(value)) throw new RangeError(`${name} out of range`);
	return value;
}

export function validate(bytes: unknown, start: unknown, end: unknown, state: unknown): number {
	if (arguments.length < 4) throw new TypeError("validate(bytes, start, end, state)");
	if (typeof state !== "number") throw new TypeError("state: not a number");
	if (!Number.isInteger(state) || state < -2147483648 || state > 2147483647) throw new RangeError("invalid state");
	if (state < 0)
		// invalid stays invalid (any negative state)
		return -1;
	let need = state & 0xff,
		lower = 0x80,
		upper = 0xbf;
	if (need) {
		lower = (state >> 8) & 0xff;
		upper = (state >> 16) & 0xff;
		if (need > 3 || state >> 24 || lower < 0x80 || upper > 0xbf || lower > upper) throw new RangeError("invalid state");
	} else if (state) throw new RangeError("invalid state");

	const view = byteBuffer(bytes);
	const last = index(end, view.length, "end");
	let i = index(start, last, "start");

	while (i < last) {
		const b = view[i++];
		if (need) {
			if (b < lower || b > upper) return -1;
			need--;
			lower = 0x80;
			upper = 0xbf;
		} else if (b < 0x80) continue;
		else if (b < 0xc2)
			// a stray continuation byte, or C0/C1 (an overlong 2-byte form)
			return -1;
		else if (b < 0xe0) need = 1;
		else if (b < 0xf0) {
			need = 2;
			if (b === 0xe0)
				// E0 80..9F would be overlong
				lower = 0xa0;
			else if (b === 0xed)
				// ED A0..BF would be a surrogate, U+D800..DFFF
				upper = 0x9f;
		} else if (b < 0xf5) {
			need = 3;
			if (b === 0xf0)
				// F0 80..8F would be overlong
				lower = 0x90;
			else if (b === 0xf4)
				// F4 90.. would be above U+10FFFF
				upper = 0x8f;
		} // F5..FF never appear
		else return -1;
	}
	return need ? need | (lower << 8) | (upper << 16) : 0;
}
