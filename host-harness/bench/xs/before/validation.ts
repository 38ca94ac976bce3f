// bench xs "before" reference: websocket/validation.ts as of commit 51e55cb, before the issue-12 hot-path changes. Measured side by side with the current file in the same XS run; not used by the device.
/*
 * Payload validity rules: close codes (RFC 6455 7.4) and UTF-8 (RFC 6455
 * 5.6 and 8.1: text payloads and close reasons MUST be valid UTF-8, RFC 3629).
 */

/**
 * Whether a close code may appear in a Close frame on the wire
 * (RFC 6455 7.4.1/7.4.2): 1000-1003 and 1007-1011 are defined by the RFC,
 * 1012-1014 are IANA-registered, 3000-4999 are for libraries and
 * applications. 1004 is reserved; 1005, 1006 and 1015 MUST NOT be sent;
 * below 1000 is unused; 1016-2999 are reserved for future RFCs; 5000 and
 * above do not exist.
 */
export function isValidCloseCode(code: number): boolean {
	if (code >= 1000 && code <= 1014)
		return code !== 1004 && code !== 1005 && code !== 1006;
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
 */

/**
 * Incremental UTF-8 validator: feed bytes in any split, learn of an error
 * at the first byte that makes it certain.
 */
export class Utf8Validator {
	/** Continuation bytes still expected for the current code point. */
	private need = 0;
	/** Allowed range for the next continuation byte. */
	private lower = 0x80;
	private upper = 0xBF;
	private bad = false;

	/** True once an invalid sequence was seen (until reset). */
	get failed(): boolean {
		return this.bad;
	}

	/** Validate more bytes; false as soon as the input is certainly invalid. */
	feed(bytes: Uint8Array): boolean {
		if (this.bad)
			return false;
		let need = this.need, lower = this.lower, upper = this.upper;
		const length = bytes.length;
		for (let i = 0; i < length; i++) {
			const b = bytes[i];
			if (need) {
				if (b < lower || b > upper) {
					this.bad = true;
					return false;
				}
				need--;
				lower = 0x80;
				upper = 0xBF;
			}
			else if (b < 0x80)
				continue;
			else if (b < 0xC2) {		// stray continuation byte, or C0/C1 (overlong 2-byte)
				this.bad = true;
				return false;
			}
			else if (b < 0xE0)
				need = 1;
			else if (b < 0xF0) {
				need = 2;
				if (b === 0xE0)
					lower = 0xA0;
				else if (b === 0xED)
					upper = 0x9F;
			}
			else if (b < 0xF5) {
				need = 3;
				if (b === 0xF0)
					lower = 0x90;
				else if (b === 0xF4)
					upper = 0x8F;
			}
			else {
				this.bad = true;
				return false;
			}
		}
		this.need = need;
		this.lower = lower;
		this.upper = upper;
		return true;
	}

	/** Whether the input ended on a code point boundary (and was valid). */
	end(): boolean {
		return !this.bad && this.need === 0;
	}

	/** Forget everything: ready for a new message. */
	reset(): void {
		this.need = 0;
		this.lower = 0x80;
		this.upper = 0xBF;
		this.bad = false;
	}
}

const shared = new Utf8Validator();

/** One-shot check of complete UTF-8 text. */
export function isValidUtf8(bytes: Uint8Array): boolean {
	shared.reset();
	return shared.feed(bytes) && shared.end();
}
