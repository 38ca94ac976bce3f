/*
 * `logical` for the Node-hosted device and unit tests: Moddable's
 * $(MODULES)/data/logical (logical.js + modLogical.c), same semantics:
 *
 * - xor/and/or(dst, src, count?) modify dst in place, src repeated cyclically.
 * - dst: ArrayBuffer, a typed array with 1-byte elements (Uint8Array,
 *   Int8Array, Uint8ClampedArray; only its view, from its byteOffset) or a
 *   DataView (its view). Anything else: TypeError("invalid buffer").
 * - src: a number (its low byte), a string (its UTF-8 bytes up to the first
 *   NUL, as the C code's strlen) or a buffer as dst.
 * - count: if given, 1..dst length, else RangeError("invalid count").
 * - not(dst, count?) is xor with 0xFF.
 *
 * Deviations: none intended. An empty src is undefined behavior in C (reads
 * past the source); here it throws RangeError.
 */

import { byteBuffer, byteBufferOrString } from "./buffers.js";

type LogicalBuffer = ArrayBuffer | ArrayBufferView;
type LogicalSource = number | string | LogicalBuffer;

function sourceOf(src: LogicalSource): Uint8Array {
	if (typeof src === "number") return Uint8Array.of(src & 0xff);
	if (typeof src === "string" || (typeof src === "object" && src !== null)) return byteBufferOrString(src);
	throw new Error("unsupported source");
}

type Op = (a: number, b: number) => number;

function operate(op: Op, dst: LogicalBuffer, src: LogicalSource, count: number | undefined, argc: number): void {
	let target = byteBuffer(dst);
	const source = sourceOf(src);
	if (argc > 2) {
		const n = Math.trunc(Number(count)) | 0;
		if (n <= 0 || n > target.length) throw new RangeError("invalid count");
		target = target.subarray(0, n);
	}
	if (source.length === 0) throw new RangeError("empty source");
	const length = target.length,
		period = source.length;
	for (let i = 0, j = 0; i < length; i++) {
		target[i] = op(target[i], source[j]);
		if (++j === period) j = 0;
	}
}

const xorOp: Op = (a, b) => a ^ b;
const andOp: Op = (a, b) => a & b;
const orOp: Op = (a, b) => a | b;

export default class Logical {
	static xor(dst: LogicalBuffer, src: LogicalSource, count?: number): void {
		operate(xorOp, dst, src, count, arguments.length);
	}
	static and(dst: LogicalBuffer, src: LogicalSource, count?: number): void {
		operate(andOp, dst, src, count, arguments.length);
	}
	static or(dst: LogicalBuffer, src: LogicalSource, count?: number): void {
		operate(orOp, dst, src, count, arguments.length);
	}
	static not(dst: LogicalBuffer, count?: number): void {
		if (arguments.length < 2) operate(xorOp, dst, 0xff, undefined, 2);
		else operate(xorOp, dst, 0xff, count, 3);
	}
}
