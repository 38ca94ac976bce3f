/*
 * Capped exponential backoff, the one copy for every retry loop in the kit
 * (the WiFi station, the TCP client, the WebSocket client): each failed
 * attempt doubles the delay before the next, up to `max`, forever or until
 * `maxAttempts` consecutive failures. The exponent is capped (at 30) before
 * the power is taken, so a long run of failures never overflows to
 * Infinity and the delay stays `max`.
 *
 * `quick`: the first `quick` failures wait `initial` each, and doubling
 * starts after them (default 1: initial, 2×, 4×, …). The WiFi station uses
 * it for the classic ESP-IDF pattern, a few quick retries one second apart,
 * then backing off.
 */

/** The exponent is capped here: 2 ** 30 × any sensible initial delay is beyond every cap. */
const maxExponent = 30;

export interface BackoffOptions {
	/** Delay after the first failure (ms). */
	initial: number;
	/** Longest delay (ms). */
	max: number;
	/** Consecutive failures before giving up; 0 (the default): never. */
	maxAttempts?: number;
	/** Failures that wait `initial` before the doubling starts (default 1). */
	quick?: number;
}

export class Backoff {
	readonly options: BackoffOptions;
	private attemptCount = 0;

	constructor(options: BackoffOptions) {
		this.options = options;
	}

	/** Failed attempts since the last reset(). */
	get attempts(): number {
		return this.attemptCount;
	}

	/** Records a failed attempt: the delay before the next one, or undefined once maxAttempts are used up. */
	next(): number | undefined {
		const { initial, max, maxAttempts = 0, quick = 1 } = this.options;
		const attempts = ++this.attemptCount;
		if (maxAttempts > 0 && attempts >= maxAttempts) return undefined;
		const exponent = Math.min(maxExponent, Math.max(0, attempts - quick));
		return Math.min(max, initial * 2 ** exponent);
	}

	/** A success: the next failure starts over at `initial`. */
	reset(): void {
		this.attemptCount = 0;
	}
}
