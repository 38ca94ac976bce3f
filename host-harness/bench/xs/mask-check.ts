/*
 * websocket/mask's unmask() against a byte-at-a-time reference, the same
 * check on both engines: bench xs runs it on XS (websocket/mask.c), the unit
 * tests on Node (the host twin, host-harness/node-host/mask.ts). No imports:
 * the caller passes the implementation, so this file runs unchanged on both.
 *
 * What must agree: the bytes after unmask() and the key it returns, for
 * every start offset 0..15 (the C loop goes a byte at a time to an aligned
 * address, then a machine word at a time: every alignment), lengths 0..40
 * and a few long ones, keys with every byte distinct and negative ones,
 * views at an offset into their buffer, the bytes outside the range left
 * as they were; and a masking undone by masking again.
 */

type Unmask = (bytes: ArrayBuffer | Uint8Array, start: number, end: number, key: number) => number;

/** Byte i XORed with the key's top byte, the key turned a byte left after each (RFC 6455 5.3, the key rotated). */
function reference(bytes: Uint8Array, start: number, end: number, key: number): number {
	let k = key | 0;
	for (let i = start; i < end; i++) {
		bytes[i] ^= k >>> 24;
		k = (k << 8) | (k >>> 24);
	}
	return k;
}

export function checkMask(unmask: Unmask): { checked: number; mismatches: string[] } {
	const mismatches: string[] = [];
	let checked = 0;
	const keys = [0x01020304, 0x8899aabb | 0, 0x7f00ff80, -1, 0x12345678];
	const lengths: number[] = [];
	for (let length = 0; length <= 40; length++) lengths.push(length);
	lengths.push(1459, 1460, 4096 + 3);
	for (const key of keys)
		for (
			let offset = 0;
			offset < 4;
			offset++ // the view's own offset into its buffer
		)
			for (let start = 0; start < 16; start++)
				for (const length of lengths) {
					const size = offset + start + length + 9;
					const original = new Uint8Array(size);
					for (let i = 0; i < size; i++) original[i] = (i * 131 + 7) & 0xff;
					const ours = original.slice();
					const theirs = original.slice();
					const view = new Uint8Array(ours.buffer, offset, size - offset);
					const expected = reference(theirs.subarray(offset), start, start + length, key);
					const got = unmask(offset ? view : ours.buffer, start, start + length, key);
					checked++;
					let same = got === expected;
					for (let i = 0; same && i < size; i++) same = ours[i] === theirs[i];
					if (same && unmask(offset ? view : ours.buffer, start, start + length, key) === expected) {
						for (let i = 0; same && i < size; i++) same = ours[i] === original[i]; // masking twice undoes it
					}
					if (!same && mismatches.length < 8)
						mismatches.push(`key ${key}, view offset ${offset}, start ${start}, length ${length}: key ${got} (expected ${expected})`);
				}
	const refusals: [string, () => unknown][] = [
		["end past the view", () => unmask(new ArrayBuffer(4), 0, 5, 1)],
		["start past end", () => unmask(new ArrayBuffer(4), 3, 2, 1)],
		["a fractional index", () => unmask(new ArrayBuffer(4), 0.5, 2, 1)],
		["a key not a number", () => unmask(new ArrayBuffer(4), 0, 2, "1" as unknown as number)],
		["not a buffer", () => unmask({} as ArrayBuffer, 0, 0, 1)],
	];
	for (const [what, call] of refusals) {
		checked++;
		try {
			call();
			mismatches.push(`${what}: not refused`);
		} catch {
			// refused
		}
	}
	return { checked, mismatches };
}
