/*
 * bench xs: the last JS UTF-8 validator (websocket/validation.ts as of
 * commit cffd329, before the loop moved to C in websocket/utf8.c): ASCII
 * four 32-bit words per loop turn, everything else a byte per turn. Kept
 * here, unchanged, as the "last JS" reference that the native validator is
 * compared with in the same run. Not device code.
 */

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
 *
 * Cost on XS (bench xs): every byte costs a JS loop turn, so ASCII, the
 * common case of text messages, is checked four bytes per turn through a
 * Uint32Array over the aligned middle of a long range (one view per feed,
 * no copy: `word & 0x80808080` is 0 for four ASCII bytes, whatever the byte
 * order), and state is held in locals. `feed(bytes, start, end)` validates
 * a range of a view, so the caller needs no subarray or copy per piece.
 */
/** Ranges at least this long are scanned a word at a time where ASCII (below, the view costs more than it saves). */
const WORDS_FROM = 32;

export class Utf8Validator {
	/** Continuation bytes still expected for the current code point. */
	private need = 0;
	/** Allowed range for the next continuation byte. */
	private lower = 0x80;
	private upper = 0xbf;
	private bad = false;

	/** True once an invalid sequence was seen (until reset). */
	get failed(): boolean {
		return this.bad;
	}

	/** Validate bytes[start, end) (default: all of it); false as soon as the input is certainly invalid. */
	feed(bytes: Uint8Array, start = 0, end = bytes.length): boolean {
		if (this.bad) return false;
		let need = this.need,
			lower = this.lower,
			upper = this.upper;
		let i = start;
		// Words over the 4-aligned middle of the range, indexed from `first` (a bytes index).
		let words: Uint32Array | undefined,
			first = 0,
			last = 0;
		if (end - start >= WORDS_FROM) {
			const offset = bytes.byteOffset;
			first = ((offset + start + 3) & ~3) - offset;
			last = first + ((end - first) & ~3);
			words = new Uint32Array(bytes.buffer, offset + first, (last - first) >> 2);
		}
		while (i < end) {
			let b = bytes[i++];
			if (need === 0) {
				// ASCII run: a byte at a time up to a word boundary, then a word at a time.
				while (b < 0x80) {
					if (((i - first) & 3) === 0 && i < last && i >= first) {
						let w = (i - first) >> 2;
						const count = (last - first) >> 2;
						const ws = words!;
						// Four words per turn while they are all ASCII, then one at a time.
						while (w + 4 <= count && ((ws[w] | ws[w + 1] | ws[w + 2] | ws[w + 3]) & 0x80808080) === 0) w += 4;
						while (w < count && (ws[w] & 0x80808080) === 0) w++;
						i = first + (w << 2);
					}
					if (i === end) {
						this.need = 0; // lower and upper are at rest when need is 0
						this.lower = 0x80;
						this.upper = 0xbf;
						return true;
					}
					b = bytes[i++];
				}
				if (b < 0xc2)
					// stray continuation byte, or C0/C1 (overlong 2-byte)
					return this.fail();
				if (b < 0xe0) need = 1;
				else if (b < 0xf0) {
					need = 2;
					if (b === 0xe0) lower = 0xa0;
					else if (b === 0xed) upper = 0x9f;
				} else if (b < 0xf5) {
					need = 3;
					if (b === 0xf0) lower = 0x90;
					else if (b === 0xf4) upper = 0x8f;
				} else return this.fail();
			} else {
				if (b < lower || b > upper) return this.fail();
				need--;
				lower = 0x80;
				upper = 0xbf;
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
		this.upper = 0xbf;
		this.bad = false;
	}

	private fail(): false {
		this.bad = true;
		return false;
	}
}
