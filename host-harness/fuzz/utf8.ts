/*
 * The oracle's own UTF-8 judge (RFC 3629; Unicode Table 3-7, "well-formed
 * byte sequences"), written apart from the device's validator on purpose:
 * the oracle must not share the device's mistakes. Incremental, and it
 * names the first byte that makes the input certainly invalid (a
 * continuation byte out of the range its lead byte allows fails at once, so
 * E0 80, ED A0 and F4 90 fail at their second byte), which is where RFC
 * 6455 8.1 lets a receiver fail a text message, even across fragments.
 */

/** Total length of the sequence a lead byte starts, and the range allowed for its second byte. */
function lead(b: number): { length: number; low: number; high: number } | undefined {
	if (b <= 0x7f) return { length: 1, low: 0, high: 0 };
	if (b >= 0xc2 && b <= 0xdf) return { length: 2, low: 0x80, high: 0xbf };
	if (b === 0xe0) return { length: 3, low: 0xa0, high: 0xbf };
	if (b === 0xed) return { length: 3, low: 0x80, high: 0x9f };
	if (b >= 0xe1 && b <= 0xef) return { length: 3, low: 0x80, high: 0xbf };
	if (b === 0xf0) return { length: 4, low: 0x90, high: 0xbf };
	if (b === 0xf4) return { length: 4, low: 0x80, high: 0x8f };
	if (b >= 0xf1 && b <= 0xf3) return { length: 4, low: 0x80, high: 0xbf };
	return undefined; // 80..C1 (continuation or overlong lead), F5..FF
}

export class Utf8Judge {
	/** Continuation bytes still owed by the current sequence. */
	#owed = 0;
	#low = 0x80;
	#high = 0xbf;

	/** Judge more bytes: the offset of the first invalid one within `data`, or -1. */
	feed(data: Uint8Array): number {
		for (let i = 0; i < data.length; i++) {
			const b = data[i];
			if (this.#owed > 0) {
				if (b < this.#low || b > this.#high) return i;
				this.#owed--;
				this.#low = 0x80;
				this.#high = 0xbf;
				continue;
			}
			const sequence = lead(b);
			if (!sequence) return i;
			this.#owed = sequence.length - 1;
			if (this.#owed) {
				this.#low = sequence.low;
				this.#high = sequence.high;
			}
		}
		return -1;
	}

	/** Whether everything fed so far ends on a code point boundary. */
	get complete(): boolean {
		return this.#owed === 0;
	}
}

/** Whole-text check: valid UTF-8, ending on a code point boundary. */
export function validUtf8(data: Uint8Array): boolean {
	const judge = new Utf8Judge();
	return judge.feed(data) < 0 && judge.complete;
}
