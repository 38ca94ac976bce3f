/*
 * The provisioning page's proof of possession: a request that saves,
 * forgets or reports anything carries the code (wifi/provisioning-secrets),
 * and this says whether it is the right one.
 *
 * - The comparison takes as long whatever the code sent: every character of
 *   the expected code is compared and the differences are gathered with OR,
 *   with no early exit on the first mismatch, so the time of an answer does
 *   not tell how much of a guess was right.
 * - At most `limit` wrong codes in any `window` ms (default 5 a minute),
 *   counted across all clients: a client cannot try more by opening more
 *   connections or changing its address. Past that, every request that
 *   carries a code is refused without looking at it, and told how many
 *   seconds to wait. The wrong tries are kept as their times in a ring of
 *   `limit` numbers: the memory is the same whoever tries, however often.
 *
 * The price: while someone keeps guessing (they joined the access point,
 * so they have its passphrase, or it is open), the right code waits too.
 */

import Time from "time";

/** check(): the right code. */
export const codeRight = 0;
/** check(): a wrong code (counted). Any value above 0: too many wrong codes lately, the seconds to wait. */
export const codeWrong = -1;

/** True when `given` is `expected`, compared in time that depends only on `expected`'s length. */
export function sameCode(given: string, expected: string): boolean {
	let difference = given.length ^ expected.length;
	for (let i = 0; i < expected.length; i++) difference |= (given.charCodeAt(i) | 0) ^ expected.charCodeAt(i); // past given's end charCodeAt is NaN: | 0 makes it 0
	return difference === 0;
}

export interface CodeGuardOptions {
	code: string;
	/** Wrong codes allowed in any window. Default 5. */
	limit?: number;
	/** The window, ms. Default 60000. */
	window?: number;
}

export class CodeGuard {
	private readonly code: string;
	private readonly window: number;
	/** The times (Time.ticks) of the last `limit` wrong codes, oldest at #next once the ring is full. */
	private readonly wrong: number[];
	private next = 0;

	constructor(options: CodeGuardOptions) {
		this.code = options.code;
		this.window = options.window ?? 60_000;
		this.wrong = new Array<number>(options.limit ?? 5).fill(-Infinity);
	}

	/** codeRight, codeWrong (counted), or the seconds to wait before any code is looked at again. */
	check(given: string, now: number = Time.ticks): number {
		const wait = this.retryAfter(now);
		if (wait > 0) return wait;
		if (sameCode(given, this.code)) return codeRight;
		this.wrong[this.next] = now;
		this.next = (this.next + 1) % this.wrong.length;
		return codeWrong;
	}

	/** Seconds until a code is looked at again; 0 when it is now. */
	retryAfter(now: number = Time.ticks): number {
		const oldest = this.wrong[this.next]; // the limit-th wrong code before the next one
		const left = oldest + this.window - now;
		return left > 0 ? Math.ceil(left / 1000) : 0;
	}
}
