/*
 * Payload validity rules: close codes (RFC 6455 7.4) and UTF-8 (RFC 6455
 * 5.6 and 8.1: text payloads and close reasons MUST be valid UTF-8, RFC 3629).
 */

import { type Utf8Bytes, validate } from "websocket/utf8";

/**
 * Whether a close code may appear in a Close frame on the wire
 * (RFC 6455 7.4.1/7.4.2): 1000-1003 and 1007-1011 are defined by the RFC,
 * 1012-1014 are IANA-registered, 3000-4999 are for libraries and
 * applications. 1004 is reserved; 1005, 1006 and 1015 MUST NOT be sent;
 * below 1000 is unused; 1016-2999 are reserved for future RFCs; 5000 and
 * above do not exist.
 */
export function isValidCloseCode(code: number): boolean {
	if (code >= 1000 && code <= 1014) return code !== 1004 && code !== 1005 && code !== 1006;
	return code >= 3000 && code <= 4999;
}

/*
 * UTF-8 per RFC 3629 / Unicode Table 3-7 (well-formed byte sequences):
 *
 *   00..7F
 *   C2..DF 80..BF
 *   E0     A0..BF 80..BF      (E0 80..9F would be overlong)
 *   E1..EC 80..BF 80..BF
 *   ED     80..9F 80..BF      (ED A0..BF would be a surrogate U+D800..DFFF)
 *   EE..EF 80..BF 80..BF
 *   F0     90..BF 80..BF 80..BF   (F0 80..8F would be overlong)
 *   F1..F3 80..BF 80..BF 80..BF
 *   F4     80..8F 80..BF 80..BF   (F4 90.. would be above U+10FFFF)
 *
 * C0, C1 and F5..FF never appear. Checking each continuation byte against
 * the range its lead byte allows makes a sequence fail on the first byte
 * that proves it invalid, even when the sequence is split across feeds.
 *
 * The byte loop is native: websocket/utf8 (utf8.c), the table above in C.
 * A JS loop costs several interpreter steps per byte: bench xs measured the
 * best one (ASCII a word at a time) at 0.08x of the native ceiling (one
 * copy + Logical.xor) on 64 KiB of ASCII and 0.01x on mixed text; this
 * class on the C loop at 0.9x (64 B) to 2.5x (64 KiB). The Node-hosted
 * device has no C: host-harness/node-host/utf8.ts runs the same table in
 * JS there.
 */

/**
 * Incremental UTF-8 validator: feed bytes in any split, learn of an error
 * at the first byte that makes it certain.
 *
 * The state between feeds is one integer (websocket/utf8's: the
 * continuation bytes still expected and the range the next must lie in;
 * 0 on a code point boundary; -1 once invalid), so a feed is one native call
 * and allocates nothing. `feed(bytes, start, end)` validates a range of a
 * view or of an ArrayBuffer, so the caller needs no subarray or copy per piece.
 */
export class Utf8Validator {
	/** websocket/utf8's state: 0 on a boundary, > 0 inside a sequence, -1 once invalid. */
	private state = 0;

	/** True once an invalid sequence was seen (until reset). */
	get failed(): boolean {
		return this.state < 0;
	}

	/**
	 * Validate bytes[start, end) (default: all of it; indices into the view,
	 * a RangeError outside it); false as soon as the input is certainly invalid.
	 */
	feed(bytes: Utf8Bytes, start = 0, end = bytes.byteLength): boolean {
		const state = this.state;
		if (state < 0) return false;
		return (this.state = validate(bytes, start, end, state)) >= 0;
	}

	/** Whether the input ended on a code point boundary (and was valid). */
	end(): boolean {
		return this.state === 0;
	}

	/** Forget everything: ready for a new message. */
	reset(): void {
		this.state = 0;
	}
}

/** One-shot check of complete UTF-8 text (no validator object, no module-level state: preload-safe). */
export function isValidUtf8(bytes: Utf8Bytes): boolean {
	return validate(bytes, 0, bytes.byteLength, 0) === 0;
}
