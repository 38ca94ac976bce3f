/*
 * The soak: for N minutes, well-behaved clients of every service the device
 * runs (TCP echo, WebSocket echo, UDP echo) share it with faulty ones
 * (host-harness/faults: resets, vanishing peers, half-closes, frames cut
 * mid-way, silent connections, small floods), and every echo a good client
 * gets is judged byte for byte. Each minute it reports what was carried and
 * what the device holds; at the end, once the load has stopped, the device
 * must hold what it held at the start and serve a fresh client.
 *
 * Bounded: a fixed number of workers, each doing one thing at a time, for a
 * fixed time, against the endpoints it was given only.
 */

import { randomBytes } from "node:crypto";
import type { Endpoints } from "../device/targets.js";
import { flood, halfClose, reset, silent, vanish } from "../faults/tcp.js";
import { endMidFrame } from "../faults/ws.js";
import { residentBytes } from "../lib/process-memory.js";
import { deviceResources, freshClientsServed, type ResourceSource, type Resources, resourcesSettled, wsEchoOnce } from "../oracle/health.js";
import { echoOnce, sha256 } from "../oracle/tcp-echo.js";
import { udpSender } from "../oracle/udp-echo.js";

export interface SoakOptions {
	endpoints: Endpoints;
	resources: ResourceSource;
	/** How long the load runs (ms). */
	durationMs: number;
	/** Report interval (ms): a minute by default. */
	intervalMs?: number;
	/** Good clients at once, per service. */
	goodWorkers?: number;
	/** Faulty peers at once. */
	faultWorkers?: number;
	/** Largest message a good client sends (bytes). */
	maxMessage?: number;
	/** How long a good client keeps trying to be served before it counts an error (ms). */
	serveWithinMs?: number;
	onInterval?: (figures: SoakInterval) => void;
	/** Ctrl-C: the load ends early; the device is still judged (settled, fresh client served). */
	signal?: AbortSignal;
	/**
	 * What the device holds at rest, read before anyone connected (a caller that probes the
	 * device first reads it before its probes: their connections may still be closing on the
	 * device when the load starts). Read at the start when not given.
	 */
	baseline?: Resources;
}

export interface SoakCounters {
	/** Connections the good clients were served on. */
	connections: number;
	/** Echoes judged equal (TCP payloads, WebSocket messages, UDP datagrams). */
	messages: number;
	/** Bytes echoed back to good clients. */
	bytes: number;
	/** Good clients refused, reset or answered 503 before being served (they retry). */
	refusals: number;
	/** Faulty peers played. */
	faults: number;
	/** Echoes that differed, or good clients not served within serveWithinMs. */
	errors: number;
}

export interface SoakInterval extends SoakCounters {
	/** Minutes since the start (fractional for a short last interval). */
	minute: number;
	/** The device process's resident memory (bytes), where it can be read. */
	rss?: number;
	resources?: Resources;
}

export interface SoakResult {
	intervals: SoakInterval[];
	total: SoakCounters;
	baseline?: Resources;
	/** What the device held once the load stopped and it settled. */
	after?: Resources;
	/** Resident memory at the end of the second interval (the first warms up: JIT code, heaps growing to their working size) and of the last. */
	rssFirst?: number;
	rssLast?: number;
	/** A fresh client was served on every service after the load. */
	servedAfter: boolean;
	/** The first few errors, described. */
	errorSamples: string[];
}

const zero = (): SoakCounters => ({ connections: 0, messages: 0, bytes: 0, refusals: 0, faults: 0, errors: 0 });

function sleep(ms: number): Promise<void> {
	return new Promise(resolve => setTimeout(resolve, ms));
}

function pick<T>(items: readonly T[]): T {
	return items[Math.floor(Math.random() * items.length)];
}

export async function runSoak(options: SoakOptions): Promise<SoakResult> {
	const { endpoints } = options;
	const intervalMs = options.intervalMs ?? 60_000;
	const serveWithinMs = options.serveWithinMs ?? 10_000;
	const maxMessage = options.maxMessage ?? 64 * 1024;
	const total = zero();
	let current = zero();
	const errorSamples: string[] = [];
	const intervals: SoakInterval[] = [];
	const start = Date.now();
	let end = start + options.durationMs;
	options.signal?.addEventListener(
		"abort",
		() => {
			end = Math.min(end, Date.now());
		},
		{ once: true },
	);
	const baseline = options.baseline ?? (await deviceResources(options.resources));

	const count = (key: keyof SoakCounters, n = 1) => {
		current[key] += n;
		total[key] += n;
	};
	const error = (what: string) => {
		count("errors");
		if (errorSamples.length < 10) errorSamples.push(`${((Date.now() - start) / 1000).toFixed(1)} s: ${what}`);
	};

	/** Keep trying until served or out of time: a refusal is counted, then retried. */
	async function served<T>(what: string, attempt: () => Promise<T>): Promise<T | undefined> {
		const deadline = Date.now() + serveWithinMs;
		for (;;) {
			try {
				return await attempt();
			} catch (e) {
				if (/differs|more bytes/.test((e as Error).message)) {
					error(`${what}: ${(e as Error).message}`);
					return undefined;
				}
				count("refusals");
				if (Date.now() > deadline || Date.now() > end + serveWithinMs) {
					error(`${what}: not served within ${serveWithinMs} ms (${(e as Error).message})`);
					return undefined;
				}
				await sleep(20);
			}
		}
	}

	const goodTcp = async () => {
		const payload = randomBytes(1 + Math.floor(Math.random() * maxMessage));
		const back = await served("TCP echo", async () => {
			const echoed = await echoOnce(endpoints.tcp!, payload, 10_000);
			if (sha256(echoed) !== sha256(payload)) throw new Error(`TCP echo differs (${echoed.length} bytes for ${payload.length})`);
			return echoed;
		});
		if (back) {
			count("connections");
			count("messages");
			count("bytes", back.length);
		}
	};
	const goodWs = async () => {
		const ok = await served("WebSocket echo", () => wsEchoOnce(endpoints.ws!, 10_000));
		if (ok !== undefined) {
			count("connections");
			count("messages", 2);
			count("bytes", "fresh client".length + 200);
		}
	};
	const goodUdp = async () => {
		const sender = await udpSender(endpoints.udp!);
		try {
			const payload = randomBytes(1 + Math.floor(Math.random() * 1024));
			try {
				const { data } = await sender.echo(payload, 2000);
				if (sha256(data) === sha256(payload)) {
					count("messages");
					count("bytes", data.length);
				} else error(`UDP echo differs (${data.length} bytes for ${payload.length})`);
			} catch {
				count("refusals"); // a datagram lost under load: UDP promises nothing
			}
		} finally {
			sender.close();
		}
	};

	const tcpFaults = endpoints.tcp
		? [
				() => reset(endpoints.tcp!, 3000, 5),
				() => vanish(endpoints.tcp!, 100_000, 20),
				() => halfClose(endpoints.tcp!, 5000, 10_000).then(() => undefined),
				async () => (await silent(endpoints.tcp!))?.destroy(),
				() => flood(endpoints.tcp!, 10, 100).then(() => undefined),
			]
		: [];
	const wsFaults = endpoints.ws
		? [
				() => endMidFrame(endpoints.ws!, { sendBytes: 6, ending: "reset" }).then(() => undefined),
				() => endMidFrame(endpoints.ws!, { sendBytes: 20_000, ending: "fin", afterMs: 20 }).then(() => undefined),
				() => endMidFrame(endpoints.ws!, { sendBytes: 60_000, ending: "destroy", unread: true, afterMs: 50 }).then(() => undefined),
			]
		: [];
	const faults = [...tcpFaults, ...wsFaults];

	const worker = async (job: () => Promise<void>, pause: number) => {
		while (Date.now() < end) {
			try {
				await job();
			} catch (e) {
				error(`worker: ${(e as Error).message}`);
			}
			await sleep(pause);
		}
	};

	const reporter = (async () => {
		let next = start + intervalMs;
		while (Date.now() < end) {
			// In short steps, so an early end (Ctrl-C) is seen at once.
			while (Date.now() < Math.min(next, end)) await sleep(Math.max(0, Math.min(250, Math.min(next, end) - Date.now())));
			const figures: SoakInterval = {
				...current,
				minute: (Date.now() - start) / 60_000,
				rss: options.resources.pid ? residentBytes(options.resources.pid) : undefined,
				resources: await deviceResources(options.resources).catch(() => undefined),
			};
			current = zero();
			intervals.push(figures);
			options.onInterval?.(figures);
			next += intervalMs;
		}
	})();

	const goods = options.goodWorkers ?? 1;
	const workers: Promise<void>[] = [];
	for (let i = 0; i < goods; i++) {
		if (endpoints.tcp) workers.push(worker(goodTcp, 0));
		if (endpoints.ws) workers.push(worker(goodWs, 0));
		if (endpoints.udp) workers.push(worker(goodUdp, 10));
	}
	for (let i = 0; i < (options.faultWorkers ?? 2) && faults.length; i++)
		workers.push(
			worker(async () => {
				await pick(faults)();
				count("faults");
			}, 20),
		);
	await Promise.all(workers);
	await reporter;

	// Waits for the device to come back, not measures of how fast: a loaded machine may take long.
	const after = await resourcesSettled(options.resources, baseline, 30_000);
	let servedAfter = true;
	try {
		await freshClientsServed(endpoints, { withinMs: 15_000 });
	} catch (e) {
		servedAfter = false;
		errorSamples.push(`after the load: ${(e as Error).message}`);
	}
	return {
		intervals,
		total,
		baseline,
		after,
		rssFirst: intervals[Math.min(1, intervals.length - 1)]?.rss,
		rssLast: intervals.at(-1)?.rss,
		servedAfter,
		errorSamples,
	};
}

/** Whether a soak passed: no error, served afterwards, resources back where they were. */
export function soakPassed(result: SoakResult): boolean {
	return result.total.errors === 0 && result.servedAfter && JSON.stringify(result.after) === JSON.stringify(result.baseline);
}
