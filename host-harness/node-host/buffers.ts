/*
 * The byte views the host providers take of their arguments, the way the
 * SDK's C code reads a buffer argument (xsmcGetBufferReadable/Writable).
 */

/** An ArrayBuffer, a byte-sized typed array or a DataView (what logical, crypt and base64 accept); anything else throws. */
export function byteBuffer(value: unknown): Uint8Array {
	if (value instanceof ArrayBuffer || value instanceof SharedArrayBuffer) return new Uint8Array(value);
	if (value instanceof Uint8Array || value instanceof Int8Array || value instanceof Uint8ClampedArray || value instanceof DataView)
		return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
	throw new TypeError("invalid buffer");
}

/** byteBuffer(), or a string's UTF-8 bytes up to its first NUL, as C reads a string argument. */
export function byteBufferOrString(value: unknown): Uint8Array {
	if (typeof value !== "string") return byteBuffer(value);
	const bytes = Buffer.from(value, "utf8");
	const nul = bytes.indexOf(0);
	return nul < 0 ? bytes : bytes.subarray(0, nul);
}

/** Any ArrayBuffer or view, as the sockets read what they are given to write. */
export function viewBytes(data: ArrayBufferLike | ArrayBufferView): Uint8Array {
	return ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : new Uint8Array(data);
}
