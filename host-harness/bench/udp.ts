/*
 * UDP echo benchmark: the same workloads against the device's UDP echo and
 * the reference, each phase in `rounds` rounds with device and reference
 * alternating (ABBA), the caps shared among the rounds.
 *
 *   round trip   one socket, a 64-byte datagram and its echo, one at a time;
 *                a datagram not echoed within lossTimeoutMs counts as lost
 *   rate         one socket, at most `window` datagrams outstanding; each
 *                echo (or loss, after lossTimeoutMs) lets the next one go;
 *                until `datagrams` sent or `seconds`; datagrams/s echoed;
 *                repeated at larger sizes for the by-size chart
 *
 * Each datagram carries a run id and a sequence number, so an echo is
 * matched to its datagram and a late echo of a datagram already counted
 * lost is recognized (and not counted twice).
 */

import { randomBytes } from "node:crypto";
import * as dgram from "node:dgram";
import type { Endpoint, TargetName } from "../device/targets.js";
import { alternate, type BenchContext, type BenchResult, type Live, type MetricSpec, type ResultBuilder, type Side, sides } from "./result.js";
import { type RoundTripSamples, sampleRoundTrips } from "./round-trips.js";
import { formatMs, formatSize, mbPerSecond, now, perSecond, summarize } from "./stats.js";

export interface UdpSettings {
	/** Time cap of each timed phase, seconds. */
	seconds: number;
	/** Round trip and rate datagram size. */
	size: number;
	rttSamples: number;
	rttWarmup: number;
	/** Rate: datagrams outstanding at most, and sent at most. */
	window: number;
	datagrams: number;
	/** Rate by size: the datagram sizes (size among them). */
	sizes: number[];
	/** A datagram not echoed within this is lost, ms. */
	lossTimeoutMs: number;
	/** Each workload in this many rounds, device and reference alternating (ABBA), sharing the caps. */
	rounds: number;
}

export function udpDefaults(target: TargetName): UdpSettings {
	const common = { size: 64, sizes: [64, 512, 1472] };
	switch (target) {
		case "node":
			return { ...common, seconds: 6, rttSamples: 3000, rttWarmup: 50, window: 32, datagrams: 60_000, lossTimeoutMs: 1000, rounds: 3 };
		case "sim":
			return { ...common, seconds: 10, rttSamples: 100, rttWarmup: 5, window: 8, datagrams: 2000, lossTimeoutMs: 2000, rounds: 1 };
		case "board":
			return { ...common, seconds: 10, rttSamples: 300, rttWarmup: 10, window: 8, datagrams: 5000, lossTimeoutMs: 2000, rounds: 2 };
	}
}

const HEADER = 8;

/** A socket talking to one echo, sending numbered datagrams and handing each matched echo to `onEcho`. */
class Numbered {
	readonly run = randomBytes(4).readUInt32BE(0);
	readonly socket = dgram.createSocket("udp4");
	#seq = 0;
	#payload: Buffer;
	onEcho: (seq: number, at: number) => void = () => {};
	/** Echoes that were not a datagram of this run, or came back at another size. */
	strays = 0;

	private constructor(readonly size: number) {
		this.#payload = randomBytes(Math.max(HEADER, size));
		this.#payload.writeUInt32BE(this.run, 0);
		this.socket.on("message", (data: Buffer) => {
			const at = now();
			if (data.length !== this.#payload.length || data.readUInt32BE(0) !== this.run) this.strays++;
			else this.onEcho(data.readUInt32BE(4), at);
		});
		this.socket.on("error", () => {});
	}

	static async open(endpoint: Endpoint, size: number): Promise<Numbered> {
		const n = new Numbered(size);
		await new Promise<void>((resolve, reject) => {
			n.socket.once("error", reject);
			n.socket.bind(0, endpoint.host === "127.0.0.1" ? "127.0.0.1" : "0.0.0.0", () => {
				n.socket.off("error", reject);
				n.socket.connect(endpoint.port, endpoint.host, () => resolve());
			});
		});
		return n;
	}

	/** Send the next datagram; returns its sequence number. */
	send(): number {
		const seq = this.#seq++;
		this.#payload.writeUInt32BE(seq >>> 0, 4);
		this.socket.send(this.#payload);
		return seq;
	}

	close(): void {
		try {
			this.socket.close();
		} catch {
			// already closed
		}
	}
}

export type UdpRoundTrips = RoundTripSamples;

/** One datagram at a time: warmup, then up to `samples` samples or `seconds`; a datagram without echo within lossTimeoutMs is lost. */
export async function udpRoundTrips(
	endpoint: Endpoint,
	o: { size: number; samples: number; warmup: number; seconds: number; lossTimeoutMs: number },
	live?: Live,
): Promise<UdpRoundTrips> {
	const link = await Numbered.open(endpoint, o.size);
	if (live) live.unit = "datagrams";
	let result: RoundTripSamples;
	try {
		result = await sampleRoundTrips(
			o,
			() =>
				new Promise<number | undefined>(resolve => {
					const timer = setTimeout(() => resolve(undefined), o.lossTimeoutMs);
					let seq = -1;
					let t0 = 0;
					link.onEcho = (echoed, at) => {
						if (echoed === seq) {
							clearTimeout(timer);
							resolve(at - t0);
						}
					};
					t0 = now();
					seq = link.send();
				}),
			live,
		);
	} finally {
		link.close();
	}
	if (!result.samples.length) throw new Error(`no datagram echoed within ${o.seconds} s (${result.lost} of ${result.sent} lost)`);
	return result;
}

export interface UdpRate {
	sent: number;
	echoed: number;
	lost: number;
	/** Echoes of datagrams already counted lost. */
	late: number;
	/** Time the echoes counted in `echoed` took, ms. */
	ms: number;
}

/** Keep `window` datagrams outstanding until `datagrams` are sent or `seconds` pass; count echoes and losses. */
export async function udpRate(
	endpoint: Endpoint,
	o: { size: number; window: number; datagrams: number; seconds: number; lossTimeoutMs: number },
	live?: Live,
): Promise<UdpRate> {
	const link = await Numbered.open(endpoint, o.size);
	if (live) live.unit = "datagrams";
	const outstanding = new Map<number, number>(); // seq → sent at, oldest first
	let sent = 0;
	let echoed = 0;
	let lost = 0;
	let late = 0;
	let sending = true;
	let ms = 0;
	const t0 = now();
	try {
		await new Promise<void>(resolve => {
			let finished = false;
			let grace: NodeJS.Timeout | undefined;
			let deadline: NodeJS.Timeout | undefined;
			let sweeper: NodeJS.Timeout | undefined;
			const finish = () => {
				if (finished) return;
				finished = true;
				clearTimeout(deadline);
				clearTimeout(grace);
				clearInterval(sweeper);
				lost += outstanding.size;
				outstanding.clear();
				resolve();
			};
			const stopSending = () => {
				if (!sending) return;
				sending = false;
				ms = now() - t0;
				if (outstanding.size === 0) finish();
				else grace = setTimeout(finish, o.lossTimeoutMs); // only to count what is still to come back
			};
			const pump = () => {
				while (sending && outstanding.size < o.window && sent < o.datagrams) {
					outstanding.set(link.send(), now());
					sent++;
				}
				if (sending && sent >= o.datagrams && outstanding.size === 0) stopSending();
			};
			deadline = setTimeout(stopSending, o.seconds * 1000);
			sweeper = setInterval(
				() => {
					const cutoff = now() - o.lossTimeoutMs;
					for (const [seq, at] of outstanding) {
						if (at > cutoff) break;
						outstanding.delete(seq);
						lost++;
					}
					pump();
				},
				Math.max(10, Math.min(100, o.lossTimeoutMs / 4)),
			);
			link.onEcho = seq => {
				if (!outstanding.delete(seq)) {
					late++;
					return;
				}
				if (sending) {
					echoed++;
					if (live) {
						live.count = echoed;
						live.bytes += o.size;
					}
					pump();
				} else if (outstanding.size === 0) finish();
			};
			pump();
		});
	} finally {
		link.close();
	}
	if (echoed === 0) throw new Error(`no datagram echoed within ${o.seconds} s (${lost} of ${sent} lost)`);
	return { sent, echoed, lost, late, ms };
}

export const udpMetrics = {
	p50: (s: UdpSettings): MetricSpec => ({ key: "udp.rtt.p50", label: `round trip p50, ${formatSize(s.size)}`, unit: "ms", better: "lower" }),
	p99: (s: UdpSettings): MetricSpec => ({ key: "udp.rtt.p99", label: `round trip p99, ${formatSize(s.size)}`, unit: "ms", better: "lower" }),
	rate: (s: UdpSettings): MetricSpec => ({
		key: "udp.rate",
		label: `${formatSize(s.size)} datagrams, window ${s.window}`,
		unit: "datagrams/s",
		better: "higher",
	}),
	lost: (): MetricSpec => ({ key: "udp.lost", label: "datagrams lost (all phases)", unit: "datagrams" }),
};

/** Run every UDP phase on both sides (in rounds, alternating) and collect the result. */
export async function benchUdp(endpoints: Record<Side, Endpoint>, settings: UdpSettings, ctx: BenchContext, builder: ResultBuilder): Promise<BenchResult> {
	const s = settings;
	const rounds = Math.max(1, s.rounds);
	for (const spec of [udpMetrics.p50(s), udpMetrics.p99(s), udpMetrics.rate(s), udpMetrics.lost()]) builder.declare(spec);
	const loss: Record<Side, { lost: number; sent: number }> = { device: { lost: 0, sent: 0 }, reference: { lost: 0, sent: 0 } };

	const rtt = await alternate(ctx, builder, `round trips, ${formatSize(s.size)}`, rounds, (side, live) =>
		udpRoundTrips(
			endpoints[side],
			{ size: s.size, samples: Math.ceil(s.rttSamples / rounds), warmup: s.rttWarmup, seconds: s.seconds / rounds, lossTimeoutMs: s.lossTimeoutMs },
			live,
		),
	);
	for (const side of sides) {
		const r = rtt[side];
		if (r) {
			const samples = r.flatMap(p => p.samples);
			const summary = summarize(samples)!;
			builder.record(udpMetrics.p50(s), side, summary.p50, `n=${summary.count}`);
			builder.rounds(
				udpMetrics.p50(s),
				side,
				r.map(p => summarize(p.samples)?.p50 ?? NaN),
			);
			builder.record(udpMetrics.p99(s), side, summary.p99, `n=${summary.count}`);
			builder.roundTrips(side, samples);
			for (const p of r) {
				loss[side].lost += p.lost;
				loss[side].sent += p.sent;
			}
		}
	}

	for (const size of [...new Set([s.size, ...s.sizes])]) {
		const headline = size === s.size;
		const datagrams = Math.ceil((headline ? s.datagrams : s.datagrams / 4) / rounds);
		const seconds = (headline ? s.seconds : s.seconds / 2) / rounds;
		const parts = await alternate(ctx, builder, `${formatSize(size)} datagrams, window ${s.window}`, rounds, (side, live) =>
			udpRate(endpoints[side], { size, window: s.window, datagrams, seconds, lossTimeoutMs: s.lossTimeoutMs }, live),
		);
		for (const side of sides) {
			const r = parts[side];
			if (!r) {
				builder.size(size, side, undefined);
				continue;
			}
			const sum = (key: keyof UdpRate) => r.reduce((total, p) => total + p[key], 0);
			builder.size(size, side, mbPerSecond(sum("echoed") * size, sum("ms")));
			if (headline)
				builder.record(
					udpMetrics.rate(s),
					side,
					perSecond(sum("echoed"), sum("ms")),
					`${sum("echoed")} of ${sum("sent")} echoed in ${formatMs(sum("ms"))}, ${sum("lost")} lost, ${sum("late")} late`,
				);
			loss[side].lost += sum("lost");
			loss[side].sent += sum("sent");
		}
	}
	for (const side of sides) builder.record(udpMetrics.lost(), side, loss[side].sent ? loss[side].lost : undefined, `${loss[side].lost} of ${loss[side].sent}`);
	return builder.finish();
}
