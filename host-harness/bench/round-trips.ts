/*
 * The ping-pong loop every round-trip benchmark shares: one message at a
 * time, a warmup (at most a fifth of the time budget), then up to `samples`
 * samples or `seconds`, whichever ends first.
 */

import { randomBytes } from "node:crypto";
import type { Live } from "./result.js";
import { now } from "./stats.js";

export interface RoundTripBudget {
	size: number;
	samples: number;
	warmup: number;
	seconds: number;
}

export interface RoundTripSamples {
	samples: number[];
	/** Messages sent, warmup included. */
	sent: number;
	/** Messages that never came back (`once` resolved undefined). */
	lost: number;
}

/** Run `once` (one round trip: its time in ms, or undefined when lost) until the budget is spent. */
export async function sampleRoundTrips(o: RoundTripBudget, once: () => Promise<number | undefined>, live?: Live): Promise<RoundTripSamples> {
	const samples: number[] = [];
	let sent = 0;
	let lost = 0;
	const start = now();
	const deadline = start + o.seconds * 1000;
	const warmupEnds = start + o.seconds * 200; // warmup takes at most a fifth of the time
	let warmup = o.warmup;
	for (let i = 0; i < o.warmup + o.samples && samples.length < o.samples && now() < deadline; i++) {
		const ms = await once();
		sent++;
		if (ms === undefined) lost++;
		else if (warmup > 0 && now() < warmupEnds) warmup--;
		else samples.push(ms);
		if (live) {
			live.count++;
			live.bytes += ms === undefined ? 0 : o.size;
		}
	}
	return { samples, sent, lost };
}

/** A connection that echoes one message at a time (TCP, WebSocket). */
export interface PingPongLink {
	roundTrip(payload: Buffer, timeoutMs: number): Promise<number>;
	close(): void;
}

/** Round trips of `size`-byte messages on one link until the budget is spent; the link is closed after. */
export async function pingPongSamples(link: PingPongLink, o: RoundTripBudget & { timeoutMs: number }, live?: Live): Promise<number[]> {
	const payload = randomBytes(o.size);
	try {
		const { samples } = await sampleRoundTrips(o, () => link.roundTrip(payload, o.timeoutMs), live);
		if (!samples.length) throw new Error(`no round trip sample within ${o.seconds} s (warmup ${o.warmup})`);
		return samples;
	} finally {
		link.close();
	}
}

/** Every link doing round trips at once until `messages` in all or `seconds`; the caller closes the links. */
export async function concurrentRoundTrips(
	links: readonly PingPongLink[],
	o: { size: number; messages: number; seconds: number; timeoutMs: number },
	live?: Live,
): Promise<{ messages: number; ms: number; roundTrips: number[] }> {
	const payload = randomBytes(o.size);
	let started = 0;
	let messages = 0;
	const roundTrips: number[] = [];
	const t0 = now();
	const deadline = t0 + o.seconds * 1000;
	await Promise.all(
		links.map(async link => {
			while (started < o.messages && now() < deadline) {
				started++;
				roundTrips.push(await link.roundTrip(payload, o.timeoutMs));
				messages++;
				if (live) {
					live.count = messages;
					live.bytes += o.size;
				}
			}
		}),
	);
	return { messages, ms: now() - t0, roundTrips };
}
