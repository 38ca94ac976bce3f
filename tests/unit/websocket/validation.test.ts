import { describe, expect, it } from "vitest";
import { isValidCloseCode, isValidUtf8, Utf8Validator } from "websocket/validation";

const u8 = (...b: number[]) => Uint8Array.from(b);
const utf8 = (s: string) => new TextEncoder().encode(s);
const fatal = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

function referenceValid(b: Uint8Array): boolean {
	try {
		fatal.decode(b);
		return true;
	} catch {
		return false;
	}
}

/** Index of the byte at which a byte-at-a-time feed first fails; -1 if none. */
function failIndex(b: Uint8Array): number {
	const v = new Utf8Validator();
	for (let i = 0; i < b.length; i++) if (!v.feed(b.subarray(i, i + 1))) return i;
	return -1;
}

describe("isValidCloseCode (RFC 6455 7.4)", () => {
	it("accepts the defined, registered and private-use codes", () => {
		for (const code of [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999])
			expect(isValidCloseCode(code), String(code)).toBe(true);
	});
	it("rejects reserved, never-sent and out-of-range codes", () => {
		for (const code of [0, 1, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535]) expect(isValidCloseCode(code), String(code)).toBe(false);
	});
});

describe("Utf8Validator", () => {
	it("accepts valid text of every sequence length", () => {
		for (const s of ["", "hello", "κόσμε", "€uro", "𝄞 music", "\u{10FFFF}", "\uD7FF\uE000\uFFFD"]) expect(isValidUtf8(utf8(s)), s).toBe(true);
	});

	it("U+10FFFF is valid, U+110000 is not (fails on its second byte)", () => {
		expect(isValidUtf8(u8(0xf4, 0x8f, 0xbf, 0xbf))).toBe(true);
		expect(failIndex(u8(0xf4, 0x90, 0x80, 0x80))).toBe(1);
		expect(failIndex(u8(0xf5, 0x80, 0x80, 0x80))).toBe(0);
		expect(failIndex(u8(0xff))).toBe(0);
	});

	it("rejects overlong encodings as early as possible", () => {
		expect(failIndex(u8(0xc0, 0x80))).toBe(0);
		expect(failIndex(u8(0xc1, 0xbf))).toBe(0);
		expect(failIndex(u8(0xe0, 0x80, 0x80))).toBe(1);
		expect(failIndex(u8(0xe0, 0x9f, 0xbf))).toBe(1);
		expect(failIndex(u8(0xf0, 0x80, 0x80, 0x80))).toBe(1);
		expect(failIndex(u8(0xf0, 0x8f, 0xbf, 0xbf))).toBe(1);
		expect(isValidUtf8(u8(0xe0, 0xa0, 0x80))).toBe(true); // U+0800
		expect(isValidUtf8(u8(0xf0, 0x90, 0x80, 0x80))).toBe(true); // U+10000
	});

	it("rejects UTF-16 surrogates (ED A0..BF)", () => {
		expect(failIndex(u8(0xed, 0xa0, 0x80))).toBe(1);
		expect(failIndex(u8(0xed, 0xbf, 0xbf))).toBe(1);
		expect(failIndex(u8(0xed, 0xa0, 0x80, 0xed, 0xb0, 0x80))).toBe(1);
		expect(isValidUtf8(u8(0xed, 0x9f, 0xbf))).toBe(true); // U+D7FF
	});

	it("rejects stray continuation bytes and truncated sequences", () => {
		expect(failIndex(u8(0x41, 0x80))).toBe(1);
		expect(failIndex(u8(0xc2, 0x41))).toBe(1);
		expect(failIndex(u8(0xe2, 0x82, 0x41))).toBe(2);
		expect(isValidUtf8(u8(0xe2, 0x82))).toBe(false);
	});

	it("keeps state across a 4-byte sequence split at every point", () => {
		const b = utf8("a𝄞b");
		for (let i = 0; i <= b.length; i++)
			for (let j = i; j <= b.length; j++) {
				const v = new Utf8Validator();
				expect(v.feed(b.subarray(0, i))).toBe(true);
				expect(v.feed(b.subarray(i, j))).toBe(true);
				expect(v.feed(b.subarray(j))).toBe(true);
				expect(v.end()).toBe(true);
			}
	});

	it("end() is false when input stops inside a sequence", () => {
		const v = new Utf8Validator();
		expect(v.feed(u8(0xf0, 0x9d, 0x84))).toBe(true);
		expect(v.end()).toBe(false);
		expect(v.feed(u8(0x9e))).toBe(true);
		expect(v.end()).toBe(true);
	});

	it("fails fast like Autobahn 6.4.x: at the first impossible byte, even across chunks", () => {
		const kosme = utf8("κόσμε");
		// 6.4.1: the whole thing in one go; failure certain at 0x90, before "-edited".
		const all = Uint8Array.from([...kosme, 0xf4, 0x90, 0x80, 0x80, ...utf8("-edited")]);
		expect(failIndex(all)).toBe(kosme.length + 1);
		// 6.4.2: the lead byte ends one chunk; the next chunk fails on its first byte.
		const v = new Utf8Validator();
		expect(v.feed(Uint8Array.from([...kosme, 0xf4]))).toBe(true);
		expect(v.feed(u8(0x90))).toBe(false);
		expect(v.failed).toBe(true);
		expect(v.feed(utf8("ok"))).toBe(false); // stays failed
		v.reset();
		expect(v.feed(utf8("ok"))).toBe(true);
		// 6.4.3/6.4.4 style: a valid 4-byte lead with two valid continuations then an invalid one.
		expect(failIndex(Uint8Array.from([...kosme, 0xf4, 0x8f, 0xbf, 0x41]))).toBe(kosme.length + 3);
	});

	it("agrees with a fatal TextDecoder on every 1-4 byte sequence over boundary bytes", () => {
		const set = [
			0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xe1, 0xec, 0xed, 0xee, 0xef, 0xf0, 0xf1, 0xf3, 0xf4, 0xf5, 0xff,
		];
		const mismatches: string[] = [];
		let checked = 0;
		const check = (s: Uint8Array) => {
			checked++;
			if (isValidUtf8(s) !== referenceValid(s)) mismatches.push(Buffer.from(s).toString("hex"));
		};
		for (const a of set) {
			check(u8(a));
			for (const c of set) {
				check(u8(a, c));
				for (const d of set) {
					check(u8(a, c, d));
					for (const e of set) check(u8(a, c, d, e));
				}
			}
		}
		expect(mismatches).toEqual([]);
		expect(checked).toBe(25 + 25 ** 2 + 25 ** 3 + 25 ** 4);
	}, 30_000);
});

describe("Utf8Validator: ranges and the word-at-a-time ASCII scan", () => {
	// A deterministic mix: ASCII runs of every length 0..40 between 2-, 3- and 4-byte sequences,
	// long enough that feed() scans words, at every alignment of the view.
	const units = ["é", "€", "😀", "温"];
	let text = "";
	for (let run = 0; run <= 40; run++) text += "a".repeat(run) + units[run % units.length];
	const valid = utf8(text);
	// Each bad byte that a validator must reject, where the reference rejects it.
	const corruptions = [0x80, 0xc0, 0xf5, 0xff, 0xed];

	function inView(bytes: Uint8Array, offset: number): Uint8Array {
		const backing = new Uint8Array(bytes.length + offset + 3);
		backing.set(bytes, offset);
		return backing.subarray(offset, offset + bytes.length);
	}

	it("accepts long valid text at every alignment, whole or split in two ranges anywhere", () => {
		for (let offset = 0; offset < 4; offset++) {
			const view = inView(valid, offset);
			expect(isValidUtf8(view), `offset ${offset}`).toBe(true);
			for (let split = 0; split <= view.length; split += 7) {
				const v = new Utf8Validator();
				expect(v.feed(view, 0, split) && v.feed(view, split, view.length) && v.end(), `offset ${offset}, split ${split}`).toBe(true);
			}
		}
	});

	it("fails a long range exactly where a byte-at-a-time feed fails, at every alignment", () => {
		let checked = 0;
		for (let at = 0; at < valid.length; at += 5)
			for (const bad of corruptions) {
				const input = valid.slice();
				input[at] = bad;
				const index = failIndex(input);
				for (let offset = 0; offset < 4; offset++) {
					const view = inView(input, offset);
					// Whole: the verdict; in two ranges split just before/after the bad byte: where it fails.
					const whole = new Utf8Validator();
					expect(whole.feed(view, 0, view.length) && whole.end(), `bad ${bad} at ${at}, offset ${offset}`).toBe(index < 0 && referenceValid(input));
					if (index >= 0) {
						const before = new Utf8Validator();
						expect(before.feed(view, 0, index), `prefix before ${index}`).toBe(true);
						expect(before.feed(view, index, view.length)).toBe(false);
						const upTo = new Utf8Validator();
						expect(upTo.feed(view, 0, index + 1)).toBe(false);
						checked++;
					}
				}
			}
		expect(checked).toBeGreaterThan(100);
	});

	it("keeps a code point split across two feeds after a long ASCII run", () => {
		const input = utf8(`${"x".repeat(70)}😀${"y".repeat(70)}`);
		const at = 71; // inside the 4-byte sequence
		for (let cut = at; cut < at + 3; cut++) {
			const v = new Utf8Validator();
			expect(v.feed(input, 0, cut)).toBe(true);
			expect(v.end()).toBe(false);
			expect(v.feed(input, cut, input.length) && v.end()).toBe(true);
		}
	});
});
