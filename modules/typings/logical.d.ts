/*
 * Types for Moddable's `logical` module ($(MODULES)/data/logical), which
 * neither @moddable/typings nor the SDK's typings declare. Seen by both the
 * project's tsc (tsconfig.device.json) and mcconfig's (websocket/manifest.json
 * maps the "logical" specifier here).
 *
 * Semantics, from logical.js and modLogical.c:
 * - dst is modified in place. It may be an ArrayBuffer, a byte-element typed
 *   array (Uint8Array, Int8Array, Uint8ClampedArray: only the view's bytes,
 *   honoring its byteOffset) or a DataView; other typed arrays throw
 *   TypeError("invalid buffer").
 * - src is a number (one byte, repeated), a string (its UTF-8 bytes up to the
 *   first NUL) or a buffer as for dst; it is repeated cyclically over dst.
 *   An empty src is not allowed.
 * - count, if given, limits the operation to dst's first count bytes; it
 *   must be 1..dst length, else RangeError("invalid count") — 0 throws.
 */
declare module "logical" {
	type LogicalBuffer = ArrayBuffer | Uint8Array | Int8Array | Uint8ClampedArray | DataView;
	type LogicalSource = number | string | LogicalBuffer;

	export default class Logical {
		static xor(dst: LogicalBuffer, src: LogicalSource, count?: number): void;
		static and(dst: LogicalBuffer, src: LogicalSource, count?: number): void;
		static or(dst: LogicalBuffer, src: LogicalSource, count?: number): void;
		/** xor with 0xFF */
		static not(dst: LogicalBuffer, count?: number): void;
	}
}
