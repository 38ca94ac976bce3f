/*
 * A small seeded PRNG (mulberry32) for the fuzzer, so a whole run replays
 * from the one seed it prints. Not crypto: masking keys made from it are
 * predictable, which RFC 6455 5.3 asks browsers to avoid, not servers to
 * check; a server must unmask whatever key it gets.
 *
 * Each case draws from its own generator, seeded from (run seed, case
 * index), so any single case regenerates alone: `--seed S --case N` replays
 * case N of run S without generating the N - 1 cases before it.
 */

import { randomInt } from "node:crypto";

export class Rng {
	#state: number;

	constructor(seed: number) {
		this.#state = seed >>> 0;
	}

	/** The next 32-bit unsigned integer (mulberry32). */
	uint32(): number {
		let t = (this.#state = (this.#state + 0x6d2b79f5) >>> 0);
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return (t ^ (t >>> 14)) >>> 0;
	}

	/** A float in [0, 1). */
	float(): number {
		return this.uint32() / 4294967296;
	}

	/** An integer in [min, max], both included. */
	int(min: number, max: number): number {
		return min + Math.floor(this.float() * (max - min + 1));
	}

	/** true with probability p. */
	chance(p: number): boolean {
		return this.float() < p;
	}

	pick<T>(items: readonly T[]): T {
		return items[this.int(0, items.length - 1)];
	}

	/** One of the entries, with probability proportional to its weight. */
	weighted<T>(entries: readonly (readonly [T, number])[]): T {
		const total = entries.reduce((sum, [, w]) => sum + w, 0);
		let at = this.float() * total;
		for (const [value, weight] of entries) {
			at -= weight;
			if (at < 0) return value;
		}
		return entries[entries.length - 1][0];
	}

	bytes(count: number): Buffer {
		const out = Buffer.allocUnsafe(count);
		for (let i = 0; i < count; i += 4) {
			const word = this.uint32();
			for (let j = 0; j < 4 && i + j < count; j++) out[i + j] = (word >>> (j * 8)) & 0xff;
		}
		return out;
	}

	/** Sorted distinct offsets in (0, length): where to cut `length` bytes into pieces. */
	cuts(length: number, count: number): number[] {
		if (length < 2) return [];
		const at = new Set<number>();
		for (let i = 0; i < count; i++) at.add(this.int(1, length - 1));
		return [...at].sort((a, b) => a - b);
	}
}

/** The seed of case `index` in run `seed` (a splitmix-style mix: nearby indices give unrelated streams). */
export function caseSeed(seed: number, index: number): number {
	let z = (seed >>> 0) ^ Math.imul(index + 1, 0x9e3779b9);
	z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
	z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
	return (z ^ (z >>> 16)) >>> 0;
}

/** A fresh run seed (printed, so the run replays). */
export function randomSeed(): number {
	return randomInt(0, 2 ** 32 - 1);
}
