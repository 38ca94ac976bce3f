/*
 * Churn: many connections through every service of the kit's app, ended in
 * every way (churn-cases.ts), then what the device still holds: its XS
 * heaps after forced full collections (memory.ts HeapProbe) and every set,
 * map and follower the libraries and the app keep (census.ts), on the
 * simulator's debug build through xsbug.
 *
 * A round runs each case a number of times, shuffled, several at once: a
 * run takes sockets of its server (the WebSocket server: wsMaxClients at
 * once, so none is refused by accident; the capacity cases take them all)
 * and gives them back once the device has logged each of its connections
 * closed or refused. The round ends with the same closing sequence every
 * time (a WebSocket echo client closed with 1000, a TCP echo client ended
 * with FIN, a datagram), because a server keeps its last closed connection
 * reachable until its next accept (sim-memory.test.ts): what stays of a
 * round is then the same whatever its cases.
 *
 * measureChurn: the idle app, a warm-up round (each case once), then the
 * churn; after each round the census and the heaps.
 */

import { randomBytes } from "node:crypto";
import type * as net from "node:net";
import type WebSocket from "ws";
import type { Endpoint } from "../device/targets.js";
import { freeServicePorts } from "../lib/ports.js";
import { connect, readBytes } from "../oracle/tcp-echo.js";
import { udpSender } from "../oracle/udp-echo.js";
import { closed, nextMessage, openWs } from "../oracle/ws-echo.js";
import type { XsbugLogServer } from "../xsbug/log-server.js";
import { type Census, formatCensus, heldBeyondIdle, readCensus } from "./census.js";
import type { ChurnCase, ChurnTarget, Service } from "./churn-case.js";
import { churnCases } from "./churn-cases.js";
import { boardSlotSize, delta, type HeapReading } from "./heap.js";
import type { MemoryDevice } from "./memory-device.js";

/** Connections per tier in the suite; `bench memory --churn N` runs more. */
export const defaultChurnConnections = 1000;

/**
 * The device for a churn: the app's default services and limits, the
 * broadcast route and the upload routes on (both off by default), and the timeouts the ends
 * wait for made short: handshake 3 s, heartbeat 2 s, TCP idle 3 s.
 */
export async function churnDeviceConfig(extra: Record<string, string> = {}): Promise<Record<string, string>> {
	return {
		...(await freeServicePorts()),
		wsBroadcastPath: "/broadcast",
		httpUpload: "true",
		wsHandshakeTimeout: "3000",
		wsHeartbeat: "2000",
		tcpIdleTimeout: "3000",
		...extra,
	};
}

/** Numbers of the config the cases depend on, with the app's defaults (app/config-schema). */
function numberOr(config: Record<string, string>, key: string, fallback: number): number {
	const value = Number(config[key]);
	return config[key] !== undefined && Number.isFinite(value) ? value : fallback;
}

/** The device's closed and refused connections, by client port, from its log. */
class LetGo {
	readonly #seen = new Map<number, number>();
	readonly #waiting = new Map<number, { since: number; resolve: () => void }[]>();
	readonly #pattern = /(?:Connection closed: |Connection refused from )[^\s:]+:(\d+)(?!\d)/;
	readonly #onLog = (log: { seq: number; text: string }) => {
		const match = this.#pattern.exec(log.text);
		if (!match) return;
		const port = Number(match[1]);
		this.#seen.set(port, log.seq);
		const waiters = this.#waiting.get(port);
		if (!waiters) return;
		const still = waiters.filter(w => {
			if (log.seq > w.since) {
				w.resolve();
				return false;
			}
			return true;
		});
		if (still.length) this.#waiting.set(port, still);
		else this.#waiting.delete(port);
	};

	constructor(readonly server: XsbugLogServer) {
		server.on("log", this.#onLog);
	}

	stop(): void {
		this.server.off("log", this.#onLog);
	}

	wait(port: number, since: number, timeoutMs: number): Promise<void> {
		if ((this.#seen.get(port) ?? -1) > since) return Promise.resolve();
		return new Promise((resolve, reject) => {
			const entry = {
				since,
				resolve: () => {
					clearTimeout(timer);
					resolve();
				},
			};
			const timer = setTimeout(() => {
				const list = this.#waiting.get(port);
				list?.splice(list.indexOf(entry), 1);
				reject(new Error(`the device did not log 127.0.0.1:${port} closed within ${timeoutMs} ms`));
			}, timeoutMs);
			this.#waiting.set(port, [...(this.#waiting.get(port) ?? []), entry]);
		});
	}
}

/** Sockets a server may be given at once, first come first served; an exclusive run takes all. */
class Slots {
	#free: number;
	readonly #queue: { n: number; resolve: () => void }[] = [];

	constructor(readonly size: number) {
		this.#free = size;
	}

	take(n: number): Promise<void> {
		const want = Math.min(n, this.size);
		if (!this.#queue.length && this.#free >= want) {
			this.#free -= want;
			return Promise.resolve();
		}
		return new Promise(resolve => this.#queue.push({ n: want, resolve }));
	}

	give(n: number): void {
		this.#free += Math.min(n, this.size);
		while (this.#queue.length && this.#free >= this.#queue[0].n) {
			const next = this.#queue.shift()!;
			this.#free -= next.n;
			next.resolve();
		}
	}
}

/** A small deterministic shuffle (mulberry32), so a round's order is the same from run to run. */
function shuffled<T>(items: T[], seed: number): T[] {
	let state = seed >>> 0;
	const random = () => {
		state = (state + 0x6d2b79f5) >>> 0;
		let t = state;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
	const out = [...items];
	for (let i = out.length - 1; i > 0; i--) {
		const j = Math.floor(random() * (i + 1));
		[out[i], out[j]] = [out[j], out[i]];
	}
	return out;
}

/** Runs of each case for about `connections` connections in all (each case at least once), shares by weight. */
export function planRound(cases: ChurnCase[], connections: number): { churnCase: ChurnCase; runs: number }[] {
	const total = cases.reduce((sum, c) => sum + c.weight, 0);
	return cases.map(churnCase => ({
		churnCase,
		runs: Math.max(1, Math.round((connections * churnCase.weight) / total / churnCase.connections)),
	}));
}

export interface CaseCount {
	service: Service;
	end: string;
	runs: number;
	connections: number;
}

export interface ChurnRound {
	connections: number;
	runs: number;
	perCase: CaseCount[];
	durationMs: number;
	/** "service, end: what went wrong", one per failed run. */
	failures: string[];
}

export interface ChurnContext {
	server: XsbugLogServer;
	/** The device's address, ports and settings (churn-cases ChurnTarget without the per-run waits). */
	target: Omit<ChurnTarget, "deviceLetGo" | "deviceLogged" | "census">;
	cases: ChurnCase[];
}

/** How long a run's connections may take to be logged closed once the run is done. */
const letGoMs = 30_000;

/** One round: `connections` connections (at least one run of each case), several at once. */
export async function runRound(context: ChurnContext, connections: number, seed: number, progress?: (done: number, of: number) => void): Promise<ChurnRound> {
	const { server, target } = context;
	const plan = planRound(context.cases, connections);
	const queue = shuffled(
		plan.flatMap(p => Array.from({ length: p.runs }, () => p.churnCase)),
		seed,
	);
	const slots = { ws: new Slots(target.wsMaxClients), tcp: new Slots(target.tcpMaxClients), udp: new Slots(4) };
	const letGo = new LetGo(server);
	const failures: string[] = [];
	const started = Date.now();
	let next = 0;
	let done = 0;
	let made = 0;
	const worker = async () => {
		while (next < queue.length) {
			const churnCase = queue[next++];
			const pool = slots[churnCase.server];
			const taking = churnCase.exclusive ? pool.size : churnCase.connections;
			await pool.take(taking);
			const since = server.mark();
			try {
				const ports = await churnCase.run({
					...target,
					deviceLetGo: (port, timeoutMs = letGoMs) => letGo.wait(port, since, timeoutMs),
					deviceLogged: async (pattern, timeoutMs = letGoMs) => {
						await server.waitForLog(pattern, timeoutMs, { since });
					},
					census: () => readCensus(server),
				});
				await Promise.all(ports.map(port => letGo.wait(port, since, letGoMs)));
				made += churnCase.connections;
			} catch (e) {
				failures.push(`${churnCase.service}, ${churnCase.end}: ${(e as Error).message}`);
				// Its sockets may still be the device's: give them back later, not into the next run's way.
				await new Promise(resolve => setTimeout(resolve, 3000));
			} finally {
				pool.give(taking);
				progress?.(++done, queue.length);
			}
		}
	};
	try {
		await Promise.all(Array.from({ length: slots.ws.size + slots.tcp.size + slots.udp.size }, worker));
	} finally {
		letGo.stop();
	}
	return {
		connections: made,
		runs: queue.length,
		perCase: plan.map(({ churnCase, runs }) => ({ service: churnCase.service, end: churnCase.end, runs, connections: runs * churnCase.connections })),
		durationMs: Date.now() - started,
		failures,
	};
}

function socketOf(ws: WebSocket): net.Socket | undefined {
	return (ws as unknown as { _socket?: net.Socket })._socket;
}

/**
 * The closing sequence of every round: one WebSocket echo client closed with
 * 1000, one TCP echo client ended with FIN, one datagram, one after the
 * other, each logged closed before the next. The servers' last closed
 * connections are then the same after every round.
 */
export async function closingSequence(server: XsbugLogServer, target: ChurnContext["target"]): Promise<void> {
	const letGo = new LetGo(server);
	try {
		let since = server.mark();
		const ws = await openWs(`ws://${target.host}:${target.wsPort}${target.paths.echo}`, {}, 20_000);
		const port = socketOf(ws)?.localPort ?? 0;
		const message = randomBytes(16);
		const back = nextMessage(ws, 20_000);
		ws.send(message);
		await back;
		const done = closed(ws, 20_000);
		ws.close(1000, "done");
		await done;
		await letGo.wait(port, since, letGoMs);

		since = server.mark();
		const socket = await connect(target.tcp as Endpoint);
		socket.on("error", () => undefined);
		const echo = readBytes(socket, 16, 20_000);
		socket.write(message);
		await echo;
		const tcpPort = socket.localPort ?? 0;
		socket.resume();
		socket.end();
		await letGo.wait(tcpPort, since, letGoMs);
		socket.destroy();

		const sender = await udpSender(target.udp);
		try {
			await sender.echo(message, 20_000);
		} finally {
			sender.close();
		}
	} finally {
		letGo.stop();
	}
}

/** Read the census until it holds nothing beyond an idle app's (connections still closing), or give up after timeoutMs. */
export async function settledCensus(server: XsbugLogServer, timeoutMs = 30_000): Promise<Census> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const census = await readCensus(server);
		if (!heldBeyondIdle(census).length || Date.now() > deadline) return census;
		await new Promise(resolve => setTimeout(resolve, 500));
	}
}

export interface ChurnPhase {
	round: ChurnRound;
	census: Census;
	heap: HeapReading;
}

export interface ChurnResult {
	machine: string;
	slotSize: number;
	config: Record<string, string>;
	idle: HeapReading;
	idleCensus: Census;
	warmUp: ChurnPhase;
	churn: ChurnPhase;
}

/** The churn's device settings from its config, as the cases need them. */
export function churnTarget(
	host: string,
	config: Record<string, string>,
	ports: { ws: number; tcp: number; udp: number },
	lwip = false,
): ChurnContext["target"] {
	return {
		host,
		writesAfterFin: !lwip,
		slowConsumers: lwip,
		wsPort: ports.ws,
		tcp: { host, port: ports.tcp },
		udp: { host, port: ports.udp },
		paths: { echo: config.wsPath ?? "/ws", broadcast: config.wsBroadcastPath ?? "/broadcast", log: config.wsLogPath ?? "/log" },
		handshakeTimeout: numberOr(config, "wsHandshakeTimeout", 5000),
		heartbeat: numberOr(config, "wsHeartbeat", 20000),
		closeTimeout: 3000,
		tcpIdleTimeout: numberOr(config, "tcpIdleTimeout", 60000),
		wsMaxClients: numberOr(config, "wsMaxClients", 4),
		tcpMaxClients: numberOr(config, "tcpMaxClients", 2),
		tcpBacklog: numberOr(config, "tcpBacklog", 1),
	};
}

/** The whole churn on a booted memory device with a census (startMemoryDevice(config, { census: true })). */
export async function measureChurn(memory: MemoryDevice, connections: number, log: (line: string) => void = () => undefined): Promise<ChurnResult> {
	const { server, probe, device } = memory;
	const endpoints = device.endpoints;
	if (!endpoints.ws || !endpoints.tcp || !endpoints.udp)
		throw new Error("the device serves no WebSocket, TCP or UDP echo: the churn needs the app's default services");
	const url = new URL(endpoints.ws);
	const target = churnTarget(url.hostname, device.config, { ws: Number(url.port), tcp: endpoints.tcp.port, udp: endpoints.udp.port }, device.target === "lwip");
	const context: ChurnContext = { server, target, cases: churnCases(target) };

	// The census program's names become keys at its first run: read it once before the idle figure.
	const idleCensus = await readCensus(server);
	const idle = await probe.read();
	log(`idle app: ${idle.slots} slots, ${idle.chunk} chunk bytes; ${formatCensus(idleCensus)}`);

	const phase = async (name: string, count: number, seed: number): Promise<ChurnPhase> => {
		let reported = 0;
		const round = await runRound(context, count, seed, (done, of) => {
			if (done - reported >= 50 || done === of) {
				reported = done;
				log(`${name}: ${done} of ${of} runs`);
			}
		});
		await closingSequence(server, target);
		const census = await settledCensus(server);
		const heap = await probe.read();
		log(
			`${name}: ${round.connections} connections in ${Math.round(round.durationMs / 1000)} s; ${heap.slots} slots, ${heap.chunk} chunk bytes; ${formatCensus(census)}`,
		);
		return { round, census, heap };
	};
	// Each case once: what the first of each leaves (keys, the page's routes.json, the servers' last connections).
	const warmUp = await phase("warm-up", 0, 1);
	const churn = await phase("churn", connections, 2);
	return { machine: memory.machine.version, slotSize: probe.slotSize, config: device.config, idle, idleCensus, warmUp, churn };
}

/** What is wrong with a churn: failed runs, anything still held, heaps not back to the warm-up's exactly. */
export function churnProblems(result: ChurnResult): string[] {
	const { warmUp, churn } = result;
	return [
		...[...warmUp.round.failures, ...churn.round.failures].map(f => `failed: ${f}`),
		...heldBeyondIdle(churn.census).map(h => `held after the churn: ${h}`),
		...(churn.heap.slots !== warmUp.heap.slots || churn.heap.chunk !== warmUp.heap.chunk
			? [`heaps after the churn ${churn.heap.slots} slots, ${churn.heap.chunk} chunk bytes; after the warm-up ${warmUp.heap.slots}, ${warmUp.heap.chunk}`]
			: []),
	];
}

/* ---------------------------------------------------------------- report */

function figure(label: string, d: { slots: number; chunk: number }, signed = false): string {
	const sign = (v: number) => (signed && v > 0 ? `+${v}` : String(v));
	return `${label}: ${sign(d.slots)} slots (${sign(d.slots * boardSlotSize)} B on esp32), ${sign(d.chunk)} chunk B`;
}

/** The figures, as the suite and `bench memory --churn` print them. */
export function renderChurn(result: ChurnResult, tier = "sim"): string {
	const { idle, warmUp, churn } = result;
	const services = new Map<string, { connections: number; ends: number }>();
	for (const c of churn.round.perCase) {
		const s = services.get(c.service) ?? { connections: 0, ends: 0 };
		s.connections += c.connections;
		s.ends++;
		services.set(c.service, s);
	}
	const lines = [
		`churn on ${tier} (${result.machine}): ${churn.round.connections} connections in ${Math.round(churn.round.durationMs / 1000)} s (${churn.round.runs} runs of ${churn.round.perCase.length} cases), ` +
			`after a warm-up of ${warmUp.round.connections} in ${Math.round(warmUp.round.durationMs / 1000)} s`,
		`  by service: ${[...services].map(([name, s]) => `${name} ${s.connections} (${s.ends} ends)`).join(", ")}`,
		`  ${figure("idle app", idle)}`,
		`  ${figure("after the warm-up - idle", delta(warmUp.heap, idle), true)}`,
		`  ${figure("after the churn - after the warm-up", delta(churn.heap, warmUp.heap), true)}`,
		`  census after the churn: ${formatCensus(churn.census)}`,
	];
	if (churn.round.failures.length) lines.push(`  ${churn.round.failures.length} failed runs, the first: ${churn.round.failures.slice(0, 5).join("; ")}`);
	const problems = churnProblems(result).filter(p => !p.startsWith("failed: "));
	lines.push(problems.length ? `  NOT BACK: ${problems.join("; ")}` : "  nothing held, heaps back exactly");
	return `${lines.join("\n")}\n`;
}
