/*
 * `websocket/mask` for the Node-hosted device and unit tests: the host twin
 * of the device's native module (websocket/mask.js + websocket/mask.c),
 * which the Node-hosted device cannot load (no C). Same result, same
 * argument checks, in JS, a byte at a time.
 *
 * unmask(bytes, start, end, key) -> the key rotated past bytes[start, end):
 * each byte XORed with the key's top byte, the key then turned a byte left.
 *
 * Argument checks, in mask.c's order: fewer than 4 arguments: TypeError;
 * key not a number: TypeError; not a whole number in [-2^31, 2^32):
 * RangeError; bytes not an ArrayBuffer, byte-sized typed array or DataView:
 * TypeError("invalid buffer"); end, then start, not a number: TypeError; not
 * a whole number with 0 <= start <= end <= the view's length: RangeError.
 */

import { byteBuffer } from "./buffers.js";

function index(value: unknown, limit: number, name: string): number {
	if (typeof value !== "number") throw new TypeError(`${name}: not a number`);
	if (!(value >= 0 && value <= limit) || !Number.isInteger(value)) throw new RangeError(`${name} out of range`);
	return value;
}

export function unmask(bytes: unknown, start: unknown, end: unknown, key: unknown): number {
	if (arguments.length < 4) throw new TypeError("unmask(bytes, start, end, key)");
	if (typeof key !== "number") throw new TypeError("key: not a number");
	if (!Number.isInteger(key) || key < -2147483648 || key > 4294967295) throw new RangeError("invalid key");
	const view = byteBuffer(bytes);
	const last = index(end, view.length, "end");
	let i = index(start, last, "start");
	let k = key | 0;
	while (i < last) {
		view[i++] ^= k >>> 24;
		k = (k << 8) | (k >>> 24);
	}
	return k;
}
