/*
 * WebSocket echo benchmark, with the `ws` client library, against the
 * device's WebSocket echo server and a `ws` WebSocketServer echo; each
 * phase in `rounds` rounds with device and reference alternating (ABBA),
 * the caps shared among the rounds.
 *
 *   pipelined    one connection, 64-byte binary messages, at most `window`
 *                sent and not yet echoed; until `messages` or `seconds`
 *   round trip   one connection, one 64-byte message and its echo at a time
 *   throughput   one connection, 64 KiB messages, at most `windowBytes` in
 *                flight; until `bytes` echoed or `seconds`; repeated at the
 *                other sizes for the by-size chart
 *   clients      `clients` connections at once, each doing round trips;
 *                aggregate messages/s. A server that refuses some (503 past
 *                its maxClients) is measured with those it accepted, and
 *                the reference with as many.
 *
 * Echoes come back in order on a connection, so each is matched to the
 * oldest message outstanding and its length checked (round trips compare
 * bytes). Connections are terminated (no closing handshake) at the end of
 * each phase.
 */

import { randomBytes } from "node:crypto";
import WebSocket from "ws";
import type { TargetName } from "../device/targets.js";
import { alternate, type BenchContext, type BenchResult, type Live, type MetricSpec, type ResultBuilder, type Side, sides } from "./result.js";
import { concurrentRoundTrips, pingPongSamples } from "./round-trips.js";
import { formatBytes, formatMs, formatSize, KiB, MiB, mbPerSecond, now, perSecond, summarize } from "./stats.js";

export interface WsSettings {
	/** Time cap of each timed phase, seconds. */
	seconds: number;
	/** Small messages: size, window and count cap of the pipelined phase. */
	messageSize: number;
	window: number;
	messages: number;
	/** Large messages: size, bytes cap and bytes in flight at most. */
	bigSize: number;
	bytes: number;
	windowBytes: number;
	/** Throughput by size: the message sizes. */
	sizes: number[];
	rttSamples: number;
	rttWarmup: number;
	clients: number;
	clientMessages: number;
	/** Longest wait for an echo (or the handshake) before the phase fails, ms. */
	timeoutMs: number;
	/** Each workload in this many rounds, device and reference alternating (ABBA), sharing the caps. */
	rounds: number;
}

export function wsDefaults(target: TargetName): WsSettings {
	const common = { messageSize: 64, bigSize: 64 * KiB, sizes: [64, KiB, 16 * KiB, 64 * KiB], clients: 8 };
	switch (target) {
		case "node":
			return {
				...common,
				seconds: 6,
				window: 64,
				messages: 150_000,
				bytes: 192 * MiB,
				windowBytes: 1 * MiB,
				rttSamples: 3000,
				rttWarmup: 50,
				clientMessages: 60_000,
				timeoutMs: 5000,
				rounds: 3,
			};
		case "sim":
			return {
				...common,
				seconds: 10,
				window: 8,
				messages: 2000,
				bytes: 1 * MiB,
				windowBytes: 128 * KiB,
				rttSamples: 100,
				rttWarmup: 5,
				clientMessages: 800,
				timeoutMs: 10_000,
				rounds: 1,
			};
		case "board":
			return {
				...common,
				seconds: 10,
				window: 16,
				messages: 10_000,
				bytes: 8 * MiB,
				windowBytes: 256 * KiB,
				rttSamples: 300,
				rttWarmup: 10,
				clientMessages: 3000,
				timeoutMs: 10_000,
				rounds: 2,
			};
	}
}

/** Open a connection (binary, no compression); rejects on an HTTP refusal, an error or after timeoutMs. */
export function openWs(url: string, timeoutMs: number): Promise<WebSocket> {
	return new Promise((resolve, reject) => {
		const ws = new WebSocket(url, { perMessageDeflate: false, handshakeTimeout: timeoutMs, maxPayload: 256 * MiB });
		ws.binaryType = "nodebuffer";
		const fail = (error: Error) => {
			ws.removeAllListeners();
			ws.on("error", () => {});
			ws.terminate();
			reject(error);
		};
		ws.once("open", () => {
			ws.removeAllListeners();
			resolve(ws);
		});
		ws.once("unexpected-response", (_request, response) => fail(new Error(`${url} answered HTTP ${response.statusCode} to the handshake`)));
		ws.once("error", fail);
	});
}

function close(ws: WebSocket): void {
	ws.removeAllListeners();
	ws.on("error", () => {});
	ws.terminate();
}

export interface PipelineResult {
	messages: number;
	ms: number;
	endedBy: "count" | "time";
}

/** Messages of `size` with at most `window` outstanding, until `messages` are echoed or `seconds` pass. */
export async function wsPipelined(
	url: string,
	o: { size: number; window: number; messages: number; seconds: number; timeoutMs: number },
	live?: Live,
): Promise<PipelineResult> {
	const ws = await openWs(url, o.timeoutMs);
	const payload = randomBytes(o.size);
	let sent = 0;
	let echoed = 0;
	let lastEcho = now();
	const t0 = now();
	try {
		return await new Promise<PipelineResult>((resolve, reject) => {
			let done = false;
			const end = (error?: Error, endedBy: PipelineResult["endedBy"] = "time") => {
				if (done) return;
				done = true;
				const ms = now() - t0;
				clearTimeout(deadline);
				clearInterval(watchdog);
				if (error) reject(error);
				else resolve({ messages: echoed, ms, endedBy });
			};
			const deadline = setTimeout(() => end(echoed ? undefined : new Error(`no echo within ${o.seconds} s`)), o.seconds * 1000);
			const watchdog = setInterval(
				() => {
					if (now() - lastEcho > o.timeoutMs) end(new Error(`no echo for ${formatMs(o.timeoutMs)} (${echoed} of ${sent} back)`));
				},
				Math.min(1000, o.timeoutMs / 4),
			);
			const pump = () => {
				while (!done && sent < o.messages && sent - echoed < o.window) {
					ws.send(payload, { binary: true });
					sent++;
				}
			};
			ws.on("message", (data: Buffer) => {
				if (data.length !== o.size) return end(new Error(`a ${o.size}-byte message came back as ${data.length} bytes`));
				echoed++;
				lastEcho = now();
				if (live) {
					live.count = echoed;
					live.bytes += o.size;
				}
				if (echoed >= o.messages) end(undefined, "count");
				else pump();
			});
			ws.on("close", code => end(new Error(`connection closed (${code}) after ${echoed} of ${sent} messages echoed`)));
			ws.on("error", e => end(e));
			pump();
		});
	} finally {
		close(ws);
	}
}

/** One connection doing one message at a time. */
class WsLink {
	#waiter: ((data?: Buffer, error?: Error) => void) | undefined;
	#failed: Error | undefined;

	constructor(readonly ws: WebSocket) {
		ws.on("message", (data: Buffer) => {
			if (this.#waiter) this.#waiter(data);
			else this.#fail(new Error("an unexpected message from the echo"));
		});
		ws.on("close", code => this.#fail(new Error(`connection closed (${code})`)));
		ws.on("error", e => this.#fail(e));
	}

	#fail(error: Error): void {
		this.#failed ??= error;
		this.#waiter?.(undefined, error);
	}

	roundTrip(payload: Buffer, timeoutMs: number): Promise<number> {
		if (this.#failed) return Promise.reject(this.#failed);
		return new Promise<number>((resolve, reject) => {
			const timer = setTimeout(
				() => this.#waiter?.(undefined, new Error(`no echo of a ${payload.length}-byte message within ${formatMs(timeoutMs)}`)),
				timeoutMs,
			);
			let t0 = 0;
			this.#waiter = (data, error) => {
				const ms = now() - t0;
				clearTimeout(timer);
				this.#waiter = undefined;
				if (error || !data) return reject(error);
				if (!data.equals(payload)) return reject(new Error(`the echo of a ${payload.length}-byte message came back as ${data.length} different bytes`));
				resolve(ms);
			};
			t0 = now();
			this.ws.send(payload, { binary: true });
		});
	}

	close(): void {
		this.#failed ??= new Error("closed");
		close(this.ws);
	}
}

export async function wsRoundTrips(
	url: string,
	o: { size: number; samples: number; warmup: number; seconds: number; timeoutMs: number },
	live?: Live,
): Promise<number[]> {
	return pingPongSamples(new WsLink(await openWs(url, o.timeoutMs)), o, live);
}

export interface WsClientsResult {
	connected: number;
	/** Why the others were not, when some were not. */
	refused?: string;
	messages: number;
	ms: number;
	roundTrips: number[];
}

export async function wsClients(
	url: string,
	o: { clients: number; size: number; messages: number; seconds: number; timeoutMs: number },
	live?: Live,
): Promise<WsClientsResult> {
	// A server may still hold the previous phase's connections for a moment (closing): retry refused ones twice, a second apart.
	let opened = await Promise.allSettled(Array.from({ length: o.clients }, () => openWs(url, o.timeoutMs)));
	for (let attempt = 0; attempt < 2 && opened.some(r => r.status === "rejected"); attempt++) {
		await new Promise(resolve => setTimeout(resolve, 1000));
		opened = await Promise.all(
			opened.map(r =>
				r.status === "fulfilled"
					? r
					: openWs(url, o.timeoutMs).then(
							(value): PromiseSettledResult<WebSocket> => ({ status: "fulfilled", value }),
							(reason): PromiseSettledResult<WebSocket> => ({ status: "rejected", reason }),
						),
			),
		);
	}
	const links = opened.flatMap(r => (r.status === "fulfilled" ? [new WsLink(r.value)] : []));
	try {
		const refusal = opened.find((r): r is PromiseRejectedResult => r.status === "rejected");
		if (!links.length) throw new Error(`no connection of ${o.clients}: ${(refusal?.reason as Error | undefined)?.message}`);
		const { messages, ms, roundTrips } = await concurrentRoundTrips(links, o, live);
		return { connected: links.length, refused: refusal ? (refusal.reason as Error).message : undefined, messages, ms, roundTrips };
	} finally {
		for (const link of links) link.close();
	}
}

export const wsMetrics = {
	rate: (s: WsSettings): MetricSpec => ({
		key: "ws.rate",
		label: `${formatSize(s.messageSize)} messages, window ${s.window}`,
		unit: "msg/s",
		better: "higher",
	}),
	p50: (s: WsSettings): MetricSpec => ({ key: "ws.rtt.p50", label: `round trip p50, ${formatSize(s.messageSize)}`, unit: "ms", better: "lower" }),
	p99: (s: WsSettings): MetricSpec => ({ key: "ws.rtt.p99", label: `round trip p99, ${formatSize(s.messageSize)}`, unit: "ms", better: "lower" }),
	throughput: (s: WsSettings): MetricSpec => ({ key: "ws.throughput", label: `throughput, ${formatSize(s.bigSize)} messages`, unit: "MB/s", better: "higher" }),
	clients: (s: WsSettings): MetricSpec => ({
		key: "ws.clients",
		label: `${s.clients} clients, ${formatSize(s.messageSize)} round trips`,
		unit: "msg/s",
		better: "higher",
	}),
	clientsP99: (s: WsSettings): MetricSpec => ({ key: "ws.clients.p99", label: `round trip p99, ${s.clients} clients`, unit: "ms", better: "lower" }),
};

/** Messages of this size outstanding at most: the small-message window, or what fits in windowBytes. */
function windowFor(s: WsSettings, size: number): number {
	return size <= s.messageSize ? s.window : Math.max(1, Math.min(s.window, Math.floor(s.windowBytes / size)));
}

function settle(target: TargetName): Promise<void> {
	return new Promise(resolve => setTimeout(resolve, target === "node" ? 20 : 200));
}

/** Run every WebSocket phase on both sides (in rounds, alternating) and collect the result. */
export async function benchWs(urls: Record<Side, string>, settings: WsSettings, ctx: BenchContext, builder: ResultBuilder): Promise<BenchResult> {
	const s = settings;
	const rounds = Math.max(1, s.rounds);
	const between = () => settle(builder.target);
	for (const spec of [wsMetrics.rate(s), wsMetrics.p50(s), wsMetrics.p99(s), wsMetrics.throughput(s), wsMetrics.clients(s), wsMetrics.clientsP99(s)])
		builder.declare(spec);

	const sizes = [...new Set([s.messageSize, s.bigSize, ...s.sizes])];
	for (const size of sizes) {
		const small = size === s.messageSize;
		const big = size === s.bigSize;
		const window = windowFor(s, size);
		const messages = Math.max(1, Math.ceil((small ? s.messages : (big ? s.bytes : s.bytes / 4) / size) / rounds));
		const seconds = (small || big ? s.seconds : s.seconds / 2) / rounds;
		const parts = await alternate(
			ctx,
			builder,
			`${formatSize(size)} messages, window ${window}`,
			rounds,
			(side, live) => wsPipelined(urls[side], { size, window, messages, seconds, timeoutMs: s.timeoutMs }, live),
			between,
		);
		for (const side of sides) {
			const r = parts[side];
			if (!r) {
				builder.size(size, side, undefined);
				continue;
			}
			const count = r.reduce((sum, p) => sum + p.messages, 0);
			const ms = r.reduce((sum, p) => sum + p.ms, 0);
			const mbps = mbPerSecond(count * size, ms);
			builder.size(size, side, mbps);
			const detail = `${count} × ${formatSize(size)} (${formatBytes(count * size)}) in ${formatMs(ms)} (${r.map(p => (p.endedBy === "count" ? "count cap" : "time cap")).join(", ")})`;
			if (small) builder.record(wsMetrics.rate(s), side, perSecond(count, ms), detail);
			if (big) builder.record(wsMetrics.throughput(s), side, mbps, detail);
		}
	}

	const rtt = await alternate(
		ctx,
		builder,
		`round trips, ${formatSize(s.messageSize)}`,
		rounds,
		(side, live) =>
			wsRoundTrips(
				urls[side],
				{ size: s.messageSize, samples: Math.ceil(s.rttSamples / rounds), warmup: s.rttWarmup, seconds: s.seconds / rounds, timeoutMs: s.timeoutMs },
				live,
			),
		between,
	);
	for (const side of sides) {
		const samples = rtt[side]?.flat();
		if (samples) {
			const summary = summarize(samples)!;
			builder.record(wsMetrics.p50(s), side, summary.p50, `n=${summary.count}`);
			builder.rounds(
				wsMetrics.p50(s),
				side,
				rtt[side]!.map(round => summarize(round)?.p50 ?? NaN),
			);
			builder.record(wsMetrics.p99(s), side, summary.p99, `n=${summary.count}`);
			builder.roundTrips(side, samples);
		}
	}

	// The device goes first in the first round: if it accepts fewer clients than asked, every later round uses as many.
	let clients = s.clients;
	const parts = await alternate(
		ctx,
		builder,
		`${s.clients} clients`,
		rounds,
		async (side, live) => {
			const r = await wsClients(
				urls[side],
				{ clients, size: s.messageSize, messages: Math.ceil(s.clientMessages / rounds), seconds: s.seconds / rounds, timeoutMs: s.timeoutMs },
				live,
			);
			if (r.connected < clients) {
				builder.note(
					`${side}: accepted ${r.connected} of ${clients} WebSocket clients (${r.refused}); ${side === "device" ? "the reference ran with as many" : "the ratio compares unequal client counts"}`,
				);
				if (side === "device") clients = r.connected;
			}
			return r;
		},
		between,
	);
	for (const side of sides) {
		const r = parts[side];
		if (r) {
			const messages = r.reduce((sum, p) => sum + p.messages, 0);
			const ms = r.reduce((sum, p) => sum + p.ms, 0);
			const roundTrips = r.flatMap(p => p.roundTrips);
			builder.record(wsMetrics.clients(s), side, perSecond(messages, ms), `${r[r.length - 1].connected} clients, ${messages} round trips in ${formatMs(ms)}`);
			builder.record(wsMetrics.clientsP99(s), side, summarize(roundTrips)?.p99, `n=${roundTrips.length}`);
		}
	}
	return builder.finish();
}
