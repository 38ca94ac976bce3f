// modules/backoff: the one capped backoff of the WiFi station, the TCP
// client and the WebSocket client.

import { Backoff } from "modules/backoff";
import { describe, expect, it } from "vitest";

function delays(backoff: Backoff, count: number): (number | undefined)[] {
	return Array.from({ length: count }, () => backoff.next());
}

describe("Backoff", () => {
	it("doubles from initial after each failure, capped at max", () => {
		expect(delays(new Backoff({ initial: 100, max: 1000 }), 6)).toEqual([100, 200, 400, 800, 1000, 1000]);
	});

	it("starts over after reset() (a success)", () => {
		const backoff = new Backoff({ initial: 100, max: 1000 });
		delays(backoff, 3);
		backoff.reset();
		expect(backoff.attempts).toBe(0);
		expect(backoff.next()).toBe(100);
		expect(backoff.attempts).toBe(1);
	});

	it("gives up once maxAttempts failures are recorded; 0 never gives up", () => {
		expect(delays(new Backoff({ initial: 100, max: 1000, maxAttempts: 3 }), 4)).toEqual([100, 200, undefined, undefined]);
		expect(delays(new Backoff({ initial: 100, max: 1000, maxAttempts: 0 }), 50).every(d => d !== undefined)).toBe(true);
	});

	it("never overflows: after thousands of failures the delay is max", () => {
		const backoff = new Backoff({ initial: 1000, max: Number.MAX_SAFE_INTEGER });
		delays(backoff, 5000);
		const last = backoff.next()!;
		expect(Number.isFinite(last)).toBe(true);
		expect(last).toBe(1000 * 2 ** 30);
	});

	it("quick: the WiFi station's pattern, quick retries at initial, then twice initial and doubling", () => {
		// wifiRetries = 5: five joins at 1 s apart, the fifth failure backs off at 2 s (quick = retries - 1).
		expect(delays(new Backoff({ initial: 1000, max: 60_000, quick: 4 }), 8)).toEqual([1000, 1000, 1000, 1000, 2000, 4000, 8000, 16000]);
		// wifiRetries = 0: backing off from the first failure, at four times initial, as the station always did.
		expect(delays(new Backoff({ initial: 1000, max: 60_000, quick: -1 }), 2)).toEqual([4000, 8000]);
	});
});
