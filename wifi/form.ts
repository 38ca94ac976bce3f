/*
 * One field of an HTML form's body (application/x-www-form-urlencoded),
 * read straight from the request's bytes, by the WHATWG URL Standard's
 * urlencoded parser (5.1): the body is split on "&", empty parts are
 * skipped, a part splits at its first "=" (none: the whole part is the name
 * and the value is empty), "+" is a space, "%" and two hex digits is that
 * byte (any other "%" stays as it is), and the bytes are UTF-8. The first
 * field of the name asked for is the one read.
 *
 * Two differences, both refusals: a field whose decoded bytes are not UTF-8
 * is left out (the Standard would put U+FFFD in their place), and so is one
 * that decodes to a NUL byte (an XS string cannot hold it; no network name,
 * password or code has one). The page's checks then name what is missing.
 *
 * Scanning for the names the page knows, rather than building an object of
 * every name sent, keeps the memory the same whatever a client sends.
 * No RegExp: device code (see modules/http).
 */

/** The value of the first field called `name` in body[0, length), decoded; undefined when there is none (or it is refused, see above). */
export function formField(body: Uint8Array, length: number, name: string): string | undefined {
	let start = 0;
	while (start < length) {
		let end = start;
		while (end < length && body[end] !== 0x26)
			// "&"
			end++;
		if (end > start) {
			let equals = start;
			while (equals < end && body[equals] !== 0x3d)
				// "="
				equals++;
			if (decodedIs(body, start, equals, name)) return decoded(body, equals < end ? equals + 1 : end, end);
		}
		start = end + 1;
	}
	return undefined;
}

function hexValue(c: number): number {
	if (c >= 0x30 && c <= 0x39) return c - 0x30;
	if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
	if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
	return -1;
}

/** The byte at body[at] after form decoding, and where the next one starts, packed: byte | (next << 8). */
function decodeByte(body: Uint8Array, at: number, end: number): number {
	const c = body[at];
	if (c === 0x2b)
		// "+"
		return 0x20 | ((at + 1) << 8);
	if (c === 0x25 && at + 2 < end) {
		// "%" and two hex digits within the part
		const high = hexValue(body[at + 1]),
			low = hexValue(body[at + 2]);
		if (high >= 0 && low >= 0) return (high << 4) | low | ((at + 3) << 8);
	}
	return c | ((at + 1) << 8);
}

/** Whether body[start, end) decodes to `name` (ASCII). */
function decodedIs(body: Uint8Array, start: number, end: number, name: string): boolean {
	let at = start,
		i = 0;
	while (at < end) {
		const packed = decodeByte(body, at, end);
		if (i >= name.length || (packed & 0xff) !== name.charCodeAt(i)) return false;
		at = packed >> 8;
		i++;
	}
	return i === name.length;
}

/** body[start, end) decoded to a string; undefined when the bytes are not UTF-8 or hold a NUL. */
function decoded(body: Uint8Array, start: number, end: number): string | undefined {
	const bytes = new Uint8Array(end - start);
	let count = 0;
	for (let at = start; at < end; ) {
		const packed = decodeByte(body, at, end);
		const byte = packed & 0xff;
		if (byte === 0) return undefined;
		bytes[count++] = byte;
		at = packed >> 8;
	}
	try {
		return String.fromArrayBuffer(bytes.buffer.slice(0, count) as ArrayBuffer);
	} catch {
		return undefined;
	}
}
