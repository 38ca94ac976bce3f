/*
 * TCP echo benchmark: the same workloads against the device's echo server
 * and the reference, phase by phase; each phase split into `rounds` rounds
 * with device and reference alternating (ABBA), the caps and the time cap
 * shared among the rounds (node: 3 rounds of 64 MiB; sim: 1 round).
 *
 *   throughput   one connection, writes of writeSize (64 KiB), at most
 *                `window` bytes sent and not yet echoed; ends at `bytes`
 *                echoed or after `seconds` (MB/s = bytes echoed / time);
 *                repeated at smaller write sizes (a quarter of the bytes,
 *                half the time) for the by-size chart
 *   round trip   one connection, Nagle off, a 64-byte message and its echo,
 *                one at a time: `rttSamples` samples after `rttWarmup`, or
 *                as many as fit in `seconds`
 *   clients      `clients` connections at once, each doing 64-byte round
 *                trips; aggregate messages/s until `clientMessages` in all
 *                or `seconds`
 *
 * Every wait has a deadline; every socket is destroyed when its phase ends.
 * Echoed bytes are counted (throughput) or compared (round trips).
 */

import { randomBytes } from "node:crypto";
import type * as net from "node:net";
import type { Endpoint, TargetName } from "../device/targets.js";
import { connect } from "../oracle/tcp-echo.js";
import { alternate, type BenchContext, type BenchResult, type Live, type MetricSpec, type ResultBuilder, type Side, sides } from "./result.js";
import { concurrentRoundTrips, pingPongSamples } from "./round-trips.js";
import { formatBytes, formatMs, formatSize, KiB, MiB, mbPerSecond, now, perSecond, summarize } from "./stats.js";

export interface TcpSettings {
	/** Time cap of each timed phase, seconds. */
	seconds: number;
	/** Throughput: bytes to echo at most. */
	bytes: number;
	/** Throughput: the size of each write. */
	writeSize: number;
	/** Throughput: most bytes sent and not yet echoed. */
	window: number;
	/** Throughput by size: the write sizes (writeSize among them). */
	sizes: number[];
	/** Round trip: message size, samples, samples thrown away first. */
	messageSize: number;
	rttSamples: number;
	rttWarmup: number;
	/** Concurrent clients and the messages they exchange in all at most. */
	clients: number;
	clientMessages: number;
	/** Longest wait for one echo before the phase fails, ms. */
	timeoutMs: number;
	/** Each workload is split into this many rounds, device and reference alternating (ABBA); caps and time are shared among them. */
	rounds: number;
}

/** Volumes per target: the Node-hosted device carries volume; the simulator polls every 20 ms with a 1536-byte buffer; a board sits behind WiFi. */
export function tcpDefaults(target: TargetName): TcpSettings {
	const common = { writeSize: 64 * KiB, sizes: [KiB, 16 * KiB, 64 * KiB], messageSize: 64, clients: 8 };
	switch (target) {
		case "node":
			return { ...common, seconds: 6, bytes: 192 * MiB, window: 1 * MiB, rttSamples: 3000, rttWarmup: 50, clientMessages: 60_000, timeoutMs: 5000, rounds: 3 };
		case "sim":
			return { ...common, seconds: 10, bytes: 1 * MiB, window: 256 * KiB, rttSamples: 100, rttWarmup: 5, clientMessages: 800, timeoutMs: 10_000, rounds: 1 };
		case "board":
			return { ...common, seconds: 10, bytes: 8 * MiB, window: 256 * KiB, rttSamples: 300, rttWarmup: 10, clientMessages: 3000, timeoutMs: 10_000, rounds: 2 };
	}
}

async function open(endpoint: Endpoint, timeoutMs: number): Promise<net.Socket> {
	const socket = await connect(endpoint, timeoutMs);
	socket.setNoDelay(true);
	return socket;
}

export interface ThroughputResult {
	/** Bytes echoed back. */
	bytes: number;
	ms: number;
	/** What ended the phase. */
	endedBy: "bytes" | "time";
}

/** Stream writes of `writeSize` through the echo with at most `window` bytes in flight, until `bytes` are back or `seconds` pass. */
export async function tcpThroughput(
	endpoint: Endpoint,
	o: { bytes: number; seconds: number; writeSize: number; window: number; timeoutMs: number },
	live?: Live,
): Promise<ThroughputResult> {
	const socket = await open(endpoint, o.timeoutMs);
	const block = randomBytes(o.writeSize);
	if (live) live.unit = "writes";
	let sent = 0;
	let received = 0;
	const t0 = now();
	return new Promise<ThroughputResult>((resolve, reject) => {
		let done = false;
		let draining = false;
		const end = (error: Error | undefined, endedBy: ThroughputResult["endedBy"] = "time") => {
			if (done) return;
			done = true;
			const ms = now() - t0;
			clearTimeout(timer);
			socket.destroy();
			if (error) reject(error);
			else resolve({ bytes: received, ms, endedBy });
		};
		const timer = setTimeout(() => end(received > 0 ? undefined : new Error(`no echo within ${o.seconds} s`)), o.seconds * 1000);
		const pump = () => {
			while (!done && !draining && sent < o.bytes && sent - received < o.window) {
				const size = Math.min(o.writeSize, o.bytes - sent);
				sent += size;
				if (live) live.count++;
				if (!socket.write(size === block.length ? block : block.subarray(0, size))) {
					draining = true;
					socket.once("drain", () => {
						draining = false;
						pump();
					});
				}
			}
		};
		socket.on("data", (chunk: Buffer) => {
			received += chunk.length;
			if (live) live.bytes = received;
			if (received > sent) end(new Error(`the echo returned ${received} bytes, more than the ${sent} sent`));
			else if (received >= o.bytes) end(undefined, "bytes");
			else pump();
		});
		socket.once("close", () => end(new Error(`connection closed after ${formatBytes(received)} of ${formatBytes(sent)} echoed`)));
		socket.once("error", e => end(e));
		pump();
	});
}

/** One connection for 64-byte-style ping-pong: send, wait for exactly as many bytes back, compare. */
export class PingPong {
	#chunks: Buffer[] = [];
	#have = 0;
	#want = 0;
	#waiter: ((error?: Error) => void) | undefined;

	constructor(readonly socket: net.Socket) {
		socket.on("data", (chunk: Buffer) => {
			this.#chunks.push(chunk);
			this.#have += chunk.length;
			if (this.#waiter && this.#have >= this.#want) this.#waiter();
			else if (!this.#waiter) this.#fail(new Error(`${chunk.length} unexpected bytes from the echo`));
		});
		socket.once("close", () => this.#fail(new Error("connection closed")));
		socket.once("error", e => this.#fail(e));
	}

	static async open(endpoint: Endpoint, timeoutMs: number): Promise<PingPong> {
		return new PingPong(await open(endpoint, timeoutMs));
	}

	#failed: Error | undefined;

	#fail(error: Error): void {
		this.#failed ??= error;
		this.#waiter?.(error);
	}

	/** Round trip of one message, ms; rejects on a wrong echo, a closed connection or after timeoutMs. */
	roundTrip(payload: Buffer, timeoutMs: number): Promise<number> {
		if (this.#failed) return Promise.reject(this.#failed);
		return new Promise<number>((resolve, reject) => {
			const timer = setTimeout(
				() => this.#waiter?.(new Error(`no echo of ${payload.length} bytes within ${formatMs(timeoutMs)} (${this.#have} back)`)),
				timeoutMs,
			);
			this.#want = payload.length;
			let t0 = 0;
			this.#waiter = (error?: Error) => {
				const ms = now() - t0;
				clearTimeout(timer);
				this.#waiter = undefined;
				if (error) return reject(error);
				const back = this.#chunks.length === 1 ? this.#chunks[0] : Buffer.concat(this.#chunks);
				this.#chunks = [];
				this.#have = 0;
				if (back.length !== payload.length || !back.equals(payload))
					return reject(new Error(`the echo of ${payload.length} bytes came back as ${back.length} different bytes`));
				resolve(ms);
			};
			t0 = now();
			this.socket.write(payload);
		});
	}

	close(): void {
		this.#failed ??= new Error("closed");
		this.socket.destroy();
	}
}

/** Ping-pong round trips on one connection: warmup, then up to `samples` samples or `seconds`. */
export async function tcpRoundTrips(
	endpoint: Endpoint,
	o: { size: number; samples: number; warmup: number; seconds: number; timeoutMs: number },
	live?: Live,
): Promise<number[]> {
	return pingPongSamples(await PingPong.open(endpoint, o.timeoutMs), o, live);
}

export interface ClientsResult {
	messages: number;
	ms: number;
	/** Round trips under load, ms. */
	roundTrips: number[];
}

/**
 * A connection the device serves: opened, then one round trip. A device that
 * turns it away (closes it) while it still releases the previous phase's
 * connections, which over a shaped link can outlast the pause between
 * phases, is asked again every 250 ms until timeoutMs.
 */
async function servedPingPong(endpoint: Endpoint, timeoutMs: number): Promise<PingPong> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const link = await PingPong.open(endpoint, timeoutMs);
		try {
			await link.roundTrip(Buffer.from("?"), timeoutMs);
			return link;
		} catch (e) {
			link.close();
			if ((e as Error).message !== "connection closed" || Date.now() > deadline) throw e;
			await new Promise(resolve => setTimeout(resolve, 250));
		}
	}
}

/** `clients` connections at once, each doing round trips until `messages` in all or `seconds`. */
export async function tcpClients(
	endpoint: Endpoint,
	o: { clients: number; size: number; messages: number; seconds: number; timeoutMs: number },
	live?: Live,
): Promise<ClientsResult> {
	const opened = await Promise.allSettled(Array.from({ length: o.clients }, () => servedPingPong(endpoint, o.timeoutMs)));
	const links = opened.flatMap(r => (r.status === "fulfilled" ? [r.value] : []));
	try {
		const refused = opened.find(r => r.status === "rejected");
		if (refused) throw new Error(`${o.clients - links.length} of ${o.clients} connections failed: ${(refused.reason as Error).message}`);
		return await concurrentRoundTrips(links, o, live);
	} finally {
		for (const link of links) link.close();
	}
}

export const tcpMetrics = {
	throughput: (s: TcpSettings): MetricSpec => ({
		key: "tcp.throughput",
		label: `throughput, ${formatSize(s.writeSize)} writes`,
		unit: "MB/s",
		better: "higher",
	}),
	p50: (s: TcpSettings): MetricSpec => ({ key: "tcp.rtt.p50", label: `round trip p50, ${formatSize(s.messageSize)}`, unit: "ms", better: "lower" }),
	p99: (s: TcpSettings): MetricSpec => ({ key: "tcp.rtt.p99", label: `round trip p99, ${formatSize(s.messageSize)}`, unit: "ms", better: "lower" }),
	clients: (s: TcpSettings): MetricSpec => ({
		key: "tcp.clients",
		label: `${s.clients} clients, ${formatSize(s.messageSize)} round trips`,
		unit: "msg/s",
		better: "higher",
	}),
	clientsP99: (s: TcpSettings): MetricSpec => ({ key: "tcp.clients.p99", label: `round trip p99, ${s.clients} clients`, unit: "ms", better: "lower" }),
};

/** Pause between phases so the device sees the previous connections closed before the next ones arrive. */
function settle(target: TargetName): Promise<void> {
	return new Promise(resolve => setTimeout(resolve, target === "node" ? 20 : 200));
}

/** Run every TCP phase on both sides (in rounds, alternating) and collect the result. */
export async function benchTcp(endpoints: Record<Side, Endpoint>, settings: TcpSettings, ctx: BenchContext, builder: ResultBuilder): Promise<BenchResult> {
	const s = settings;
	const rounds = Math.max(1, s.rounds);
	const between = () => settle(builder.target);
	for (const spec of [tcpMetrics.throughput(s), tcpMetrics.p50(s), tcpMetrics.p99(s), tcpMetrics.clients(s), tcpMetrics.clientsP99(s)]) builder.declare(spec);

	const sizes = [...new Set([s.writeSize, ...s.sizes])];
	for (const size of sizes) {
		const headline = size === s.writeSize;
		const bytes = Math.max(size, Math.floor((headline ? s.bytes : s.bytes / 4) / rounds));
		const seconds = (headline ? s.seconds : s.seconds / 2) / rounds;
		const parts = await alternate(
			ctx,
			builder,
			`throughput, ${formatSize(size)} writes`,
			rounds,
			(side, live) => tcpThroughput(endpoints[side], { bytes, seconds, writeSize: size, window: Math.max(s.window, size), timeoutMs: s.timeoutMs }, live),
			between,
		);
		for (const side of sides) {
			const r = parts[side];
			const total = r?.reduce((sum, p) => sum + p.bytes, 0);
			const ms = r?.reduce((sum, p) => sum + p.ms, 0);
			const mbps = r ? mbPerSecond(total!, ms!) : undefined;
			builder.size(size, side, mbps);
			if (headline && r)
				builder.record(
					tcpMetrics.throughput(s),
					side,
					mbps,
					`${formatBytes(total!)} in ${formatMs(ms!)} (${r.map(p => (p.endedBy === "bytes" ? "byte cap" : "time cap")).join(", ")})`,
				);
		}
	}

	const rtt = await alternate(
		ctx,
		builder,
		`round trips, ${formatSize(s.messageSize)}`,
		rounds,
		(side, live) =>
			tcpRoundTrips(
				endpoints[side],
				{ size: s.messageSize, samples: Math.ceil(s.rttSamples / rounds), warmup: s.rttWarmup, seconds: s.seconds / rounds, timeoutMs: s.timeoutMs },
				live,
			),
		between,
	);
	for (const side of sides) {
		const samples = rtt[side]?.flat();
		if (samples) {
			const summary = summarize(samples)!;
			builder.record(tcpMetrics.p50(s), side, summary.p50, `n=${summary.count}`);
			builder.rounds(
				tcpMetrics.p50(s),
				side,
				rtt[side]!.map(round => summarize(round)?.p50 ?? NaN),
			);
			builder.record(tcpMetrics.p99(s), side, summary.p99, `n=${summary.count}`);
			builder.roundTrips(side, samples);
		}
	}

	const clients = await alternate(
		ctx,
		builder,
		`${s.clients} clients`,
		rounds,
		(side, live) =>
			tcpClients(
				endpoints[side],
				{ clients: s.clients, size: s.messageSize, messages: Math.ceil(s.clientMessages / rounds), seconds: s.seconds / rounds, timeoutMs: s.timeoutMs },
				live,
			),
		between,
	);
	for (const side of sides) {
		const r = clients[side];
		if (r) {
			const messages = r.reduce((sum, p) => sum + p.messages, 0);
			const ms = r.reduce((sum, p) => sum + p.ms, 0);
			const roundTrips = r.flatMap(p => p.roundTrips);
			builder.record(tcpMetrics.clients(s), side, perSecond(messages, ms), `${messages} round trips in ${formatMs(ms)}`);
			builder.record(tcpMetrics.clientsP99(s), side, summarize(roundTrips)?.p99, `n=${roundTrips.length}`);
		}
	}
	return builder.finish();
}
