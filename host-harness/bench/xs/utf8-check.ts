/*
 * The UTF-8 validator against a reference, the same check on both engines:
 * bench xs runs it on XS (websocket/utf8.c behind Utf8Validator), the unit
 * tests on Node (the host twin, host-harness/node-host/utf8.ts). The
 * reference is the last JS validator (bench/xs/js-validation.ts), which the
 * unit tests check against Node's fatal TextDecoder. No imports: the caller
 * passes the implementations, so this file runs unchanged on both.
 *
 * What must agree, feed by feed (the result of each feed and end()):
 * - every sequence of 1-3 bytes over the bytes where the rules change
 *   (RFC 3629 / Unicode Table 3-7 boundaries), and every 4-byte sequence over
 *   a smaller set, fed a byte at a time (so where it fails, and the state
 *   carried across a split) and whole;
 * - long mixed text with a bad byte planted along it, in views at every
 *   byte offset 0..7 (the C loop steps over ASCII a machine word at a time
 *   from an aligned byte: every alignment), whole and split in two ranges;
 * And validate() itself: every argument it must refuse, refused with the
 * right error, without reading outside the view.
 */

export type ValidateFunction = (bytes: never, start: number, end: number, state: number) => number;

export interface ValidatorLike {
	feed(bytes: Uint8Array | ArrayBuffer, start?: number, end?: number): boolean;
	end(): boolean;
	reset(): void;
}

export interface Utf8CheckResult {
	/** Inputs and argument cases compared. */
	checked: number;
	/** The first few disagreements, described. */
	mismatches: string[];
}

const BOUNDARIES = [
	0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xe1, 0xec, 0xed, 0xee, 0xef, 0xf0, 0xf1, 0xf3, 0xf4, 0xf5, 0xff,
];
const BOUNDARIES_4 = [0x41, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc2, 0xe0, 0xed, 0xf0, 0xf1, 0xf4, 0xf5];

function hex(bytes: Uint8Array): string {
	let out = "";
	for (let i = 0; i < bytes.length; i++) out += (bytes[i] < 16 ? "0" : "") + bytes[i].toString(16);
	return out;
}

/** UTF-8 bytes of text (no TextEncoder on XS, no ArrayBuffer.fromString on Node). */
function utf8(text: string): Uint8Array {
	const out: number[] = [];
	for (const ch of text) {
		const c = ch.codePointAt(0)!;
		if (c < 0x80) out.push(c);
		else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 0x3f));
		else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f));
		else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 0x3f), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f));
	}
	return Uint8Array.from(out);
}

export function checkUtf8(validate: ValidateFunction, ours: ValidatorLike, reference: ValidatorLike, detach?: (buffer: ArrayBuffer) => void): Utf8CheckResult {
	let checked = 0;
	const mismatches: string[] = [];
	const mismatch = (text: string) => {
		if (mismatches.length < 20) mismatches.push(text);
	};

	/** Each feed's result and end(), the input cut at `cuts` (indices into view). */
	const trace = (validator: ValidatorLike, view: Uint8Array, cuts: number[]) => {
		validator.reset();
		let out = "";
		let at = 0;
		for (const cut of [...cuts, view.length]) {
			out += validator.feed(view, at, cut) ? "1" : "0";
			at = cut;
		}
		return out + (validator.end() ? "E" : "-");
	};
	const compare = (view: Uint8Array, cuts: number[], what: string) => {
		checked++;
		const a = trace(ours, view, cuts),
			b = trace(reference, view, cuts);
		if (a !== b) mismatch(`${what} ${hex(view)} cut at ${cuts.join(",")}: ours ${a}, reference ${b}`);
	};
	const byteAtATime = (length: number) => {
		const cuts: number[] = [];
		for (let i = 1; i < length; i++) cuts.push(i);
		return cuts;
	};

	// Short sequences over the boundary bytes.
	const bytes = new Uint8Array(4);
	for (const a of BOUNDARIES) {
		bytes[0] = a;
		compare(bytes.subarray(0, 1), [], "sequence");
		for (const b of BOUNDARIES) {
			bytes[1] = b;
			const two = bytes.subarray(0, 2);
			compare(two, [], "sequence");
			compare(two, [1], "sequence");
			for (const c of BOUNDARIES) {
				bytes[2] = c;
				const three = bytes.subarray(0, 3);
				compare(three, [], "sequence");
				compare(three, byteAtATime(3), "sequence");
			}
		}
	}
	for (const a of BOUNDARIES_4)
		for (const b of BOUNDARIES_4)
			for (const c of BOUNDARIES_4)
				for (const d of BOUNDARIES_4) {
					bytes[0] = a;
					bytes[1] = b;
					bytes[2] = c;
					bytes[3] = d;
					compare(bytes, [], "sequence");
					compare(bytes, [1, 2, 3], "sequence");
				}

	// Long text: ASCII runs of every length 0..40 between 2-, 3- and 4-byte sequences, a bad byte planted along it.
	const units = ["é", "€", "😀", "温"];
	let text = "";
	for (let run = 0; run <= 40; run++) text += "a".repeat(run) + units[run % units.length];
	const valid = utf8(text);
	for (let at = -1; at < valid.length; at += 11)
		for (const bad of at < 0 ? [0] : [0x80, 0xc0, 0xf5, 0xed, 0xf4]) {
			for (let offset = 0; offset < 8; offset++) {
				const backing = new Uint8Array(valid.length + 8).fill(0xff); // invalid around the view: a read outside it would show
				backing.set(valid, offset);
				if (at >= 0) backing[offset + at] = bad;
				const view = backing.subarray(offset, offset + valid.length);
				compare(view, [], "long text");
				compare(view, [at < 0 ? valid.length >> 1 : at], "long text");
				compare(view, [at < 0 ? 1 : at + 1], "long text");
			}
		}

	// ArrayBuffer and DataView as the bytes, and the state carried in and out.
	const expect = (what: string, run: () => number, expected: number | "TypeError" | "RangeError") => {
		checked++;
		let got: number | string;
		try {
			got = run();
		} catch (e) {
			got = e instanceof TypeError ? "TypeError" : e instanceof RangeError ? "RangeError" : `other error ${e}`;
		}
		if (got !== expected) mismatch(`validate(${what}): ${got}, expected ${expected}`);
	};
	const call = validate as unknown as (...args: unknown[]) => number;
	const euro = utf8("x€y"); // 78 E2 82 AC 79
	const backing = new Uint8Array(16).fill(0xff);
	backing.set(euro, 5);
	const view = new Uint8Array(backing.buffer, 5, euro.length);
	expect("a view at byteOffset 5, whole", () => call(view, 0, 5, 0), 0);
	expect("a view, into the sequence", () => call(view, 0, 2, 0), 2 | (0x80 << 8) | (0xbf << 16));
	expect("a view, the rest after the state", () => call(view, 2, 5, 2 | (0x80 << 8) | (0xbf << 16)), 0);
	expect("a view, end past its length (the backing's bytes beyond are 0xFF)", () => call(view, 0, 6, 0), "RangeError");
	expect("the ArrayBuffer itself (0xFF before the view)", () => call(backing.buffer, 0, 16, 0), -1);
	expect("the ArrayBuffer, the view's range", () => call(backing.buffer, 5, 10, 0), 0);
	expect("a DataView over the text", () => call(new DataView(backing.buffer, 5, 5), 0, 5, 0), 0);
	expect("an Int8Array over the text", () => call(new Int8Array(backing.buffer, 5, 5), 0, 5, 0), 0);
	expect("an empty ArrayBuffer", () => call(new ArrayBuffer(0), 0, 0, 0), 0);
	expect("an empty view, state kept", () => call(new Uint8Array(0), 0, 0, 1 | (0x80 << 8) | (0xbf << 16)), 1 | (0x80 << 8) | (0xbf << 16));
	expect("an empty range inside a view", () => call(view, 3, 3, 0), 0);
	expect("a failed state (-1) stays failed", () => call(view, 0, 5, -1), -1);
	expect("any negative state is failed", () => call(view, 0, 5, -7), -1);
	expect("start > end", () => call(view, 3, 2, 0), "RangeError");
	expect("start < 0", () => call(view, -1, 2, 0), "RangeError");
	expect("end < 0", () => call(view, 0, -1, 0), "RangeError");
	expect("start a fraction", () => call(view, 0.5, 2, 0), "RangeError");
	expect("end NaN", () => call(view, 0, NaN, 0), "RangeError");
	expect("end Infinity", () => call(view, 0, Infinity, 0), "RangeError");
	expect("end 2^32 + 2 (no wrap to 2)", () => call(view, 0, 2 ** 32 + 2, 0), "RangeError");
	expect("end a string", () => call(view, 0, "2", 0), "TypeError");
	expect("start an object with valueOf", () => call(view, { valueOf: () => 0 }, 2, 0), "TypeError");
	expect("state a string", () => call(view, 0, 2, "0"), "TypeError");
	expect("state a fraction", () => call(view, 0, 2, 0.5), "RangeError");
	expect("state 4 (need 4)", () => call(view, 0, 2, 4), "RangeError");
	expect("state 0x100 (need 0, range bits set)", () => call(view, 0, 2, 0x100), "RangeError");
	expect("state with lower 0x70", () => call(view, 0, 2, 1 | (0x70 << 8) | (0xbf << 16)), "RangeError");
	expect("state with upper 0xC0", () => call(view, 0, 2, 1 | (0x80 << 8) | (0xc0 << 16)), "RangeError");
	expect("state with lower > upper", () => call(view, 0, 2, 1 | (0x90 << 8) | (0x8f << 16)), "RangeError");
	expect("state with bits above 23", () => call(view, 0, 2, 1 | (0x80 << 8) | (0xbf << 16) | (1 << 24)), "RangeError");
	expect("a Uint16Array", () => call(new Uint16Array(4), 0, 2, 0), "TypeError");
	expect("a string", () => call("abc", 0, 2, 0), "TypeError");
	expect("undefined", () => call(undefined, 0, 0, 0), "TypeError");
	expect("three arguments", () => call(view, 0, 2), "TypeError");
	if (detach) {
		const doomed = new Uint8Array(8);
		detach(doomed.buffer);
		expect("a detached buffer", () => call(doomed, 0, 0, 0), "TypeError");
	}

	// The validator over an ArrayBuffer range, and failing where the state says.
	checked++;
	ours.reset();
	if (!(ours.feed(backing.buffer, 5, 7) && !ours.end() && ours.feed(backing.buffer, 7, 10) && ours.end()))
		mismatch("Utf8Validator over an ArrayBuffer's range, split inside €");
	checked++;
	ours.reset();
	if (ours.feed(backing.buffer, 5, 11) || ours.feed(view) || ours.end()) mismatch("Utf8Validator: failed on 0xFF after the text, and stays failed");
	return { checked, mismatches };
}
