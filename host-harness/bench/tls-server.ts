/*
 * host-harness bench tls-server --target sim: what the device's WebSocket
 * server over TLS (wsTls, Moddable's TLS engine in its server role)
 * costs, on the simulator.
 *
 * Memory, on the simulator's debug build (bench/memory.ts: readings after
 * forced full collections through xsbug), per kind (ws://, then wss://):
 *   1. boot: "without a client" (the app idle, the server listening);
 *   2. one client, its handshake done and one 16-byte echo: "one client";
 *   3. `clients` clients in all, likewise: the cost per client over them.
 * The heaps' sizes after step 2 bound the first handshake's peak: XS grows
 * a heap only when a collection cannot make room. Board bytes: slots x 16
 * + chunk bytes (memory.ts). From these, how many wss clients fit in a
 * board's initial XS heaps beside the idle app, one handshake's transient
 * on top.
 *
 * Time, on the simulator's release build: `handshakes` TLS handshakes one
 * after another (node:tls clients, the test CA trusted), each closed once
 * established: handshakes per second as a client sees them (the
 * simulator's 20 ms socket poll included), and the simulator process's CPU
 * time per handshake (/proc/<pid>/stat utime + stime): the XS engine's work,
 * RSA 2048 decryption included.
 */

import { randomBytes } from "node:crypto";
import * as tls from "node:tls";
import WebSocket from "ws";
import { startDevice } from "../device/targets.js";
import { argumentsOr } from "../lib/command.js";
import { freeServicePorts } from "../lib/ports.js";
import { cpuTicks, programPid, ticksPerSecond } from "../lib/process-cpu.js";
import { deviceTlsConfig, makeTestPki, type TestPki } from "../lib/tls-certs.js";
import { nextMessage } from "../oracle/ws-echo.js";
import { boardSlotSize, delta, esp32DefaultCreation, type HeapDelta, type HeapReading } from "./heap.js";
import { memoryDeviceConfig, startMemoryDevice } from "./memory-device.js";

export const tlsServerUsage = `usage: host-harness bench tls-server --target sim [--clients N] [--handshakes N] [--json]

The XS heap cost of the device's WebSocket server over TLS (wss://: Moddable's TLS
engine, TLS 1.2, RSA key exchange, RSA 2048 certificate), next to plain ws://
measured the same way in the same run (simulator debug build), how many wss
clients fit in a board's initial XS heaps beside the app, and TLS handshakes per
second and CPU time per handshake on the simulator's release build. About two
minutes.

options:
  --target sim      the only target, and the default
  --clients N       clients for the per-client cost (default 4)
  --handshakes N    handshakes timed one after another (default 40)
  --json            print the result as JSON instead of the tables`;

interface KindResult {
	kind: "ws" | "wss";
	without: HeapReading;
	one: HeapReading;
	all: HeapReading;
	clients: number;
	/** One client over none. */
	first: HeapDelta;
	/** Per client, over all of them. */
	perClient: HeapDelta;
	/** The heaps' sizes after the first client (chunk bytes, slots): what the first handshake grew them to. */
	heapsAfterFirst: { chunk: number; slots: number };
}

interface TimeResult {
	handshakes: number;
	/** Wall clock, one after another, as the client saw them. */
	perSecond: number;
	medianMs: number;
	/** The simulator process's CPU time per handshake (ms). */
	cpuMsPerHandshake: number;
}

const sleep = (ms: number) => new Promise<void>(resolve => setTimeout(resolve, ms));
const boardBytes = (d: HeapDelta) => d.slots * boardSlotSize + d.chunk;

async function openEcho(url: string, ca: string): Promise<WebSocket> {
	const socket = await new Promise<WebSocket>((resolve, reject) => {
		const ws = new WebSocket(url, { ca, handshakeTimeout: 20_000 });
		ws.once("open", () => resolve(ws));
		ws.once("error", reject);
	});
	socket.on("error", () => undefined);
	const message = randomBytes(16);
	const back = nextMessage(socket, 20_000);
	socket.send(message);
	if (!(await back).data.equals(message)) throw new Error("an echo came back different");
	return socket;
}

async function measureMemory(kind: "ws" | "wss", clients: number, pki: TestPki, log: (line: string) => void): Promise<KindResult> {
	const memory = await startMemoryDevice(
		await memoryDeviceConfig(clients, {
			tcpServer: "false",
			...(kind === "wss" ? deviceTlsConfig(pki.server) : {}),
		}),
	);
	const sockets: WebSocket[] = [];
	try {
		const url = memory.device.endpoints.ws!;
		await sleep(300);
		const without = await memory.probe.read();
		log(`${kind}: without a client: ${without.slots} slots, ${without.chunk} chunk bytes`);
		sockets.push(await openEcho(url, pki.caPem));
		await sleep(300);
		const one = await memory.probe.read();
		const { values } = await memory.server.collectGarbage(memory.machine.tag, 20_000);
		const heapsAfterFirst = { chunk: values["Chunk available"] ?? 0, slots: (values["Slot available"] ?? 0) / memory.probe.slotSize };
		log(`${kind}: one client: ${one.slots} slots, ${one.chunk} chunk bytes; heaps ${heapsAfterFirst.slots} slots, ${heapsAfterFirst.chunk} chunk bytes`);
		while (sockets.length < clients) sockets.push(await openEcho(url, pki.caPem));
		await sleep(300);
		const all = await memory.probe.read();
		log(`${kind}: ${clients} clients: ${all.slots} slots, ${all.chunk} chunk bytes`);
		return { kind, without, one, all, clients, first: delta(one, without), perClient: delta(all, without, clients), heapsAfterFirst };
	} finally {
		for (const socket of sockets) socket.terminate();
		await memory.stop();
	}
}

function handshake(port: number, ca: string): Promise<number> {
	const started = process.hrtime.bigint();
	return new Promise((resolve, reject) => {
		const socket = tls.connect({ host: "127.0.0.1", port, ca }, () => {
			const ms = Number(process.hrtime.bigint() - started) / 1e6;
			socket.end();
			socket.once("close", () => resolve(ms));
		});
		socket.once("error", reject);
	});
}

async function measureTime(handshakes: number, pki: TestPki, log: (line: string) => void): Promise<TimeResult> {
	const device = await startDevice({
		target: "sim",
		config: { ...(await freeServicePorts()), tcpServer: "false", wsLogPath: "", ...deviceTlsConfig(pki.server) },
	});
	try {
		const port = Number(new URL(device.endpoints.ws!).port);
		await handshake(port, pki.caPem); // warm-up
		await sleep(500);
		const pid = programPid(device.process.pid!, ["mcsim"]);
		const ticksBefore = cpuTicks(pid);
		const started = Date.now();
		const times: number[] = [];
		for (let i = 0; i < handshakes; i++) times.push(await handshake(port, pki.caPem));
		const wall = Date.now() - started;
		await sleep(300); // the device's close of the last one
		const ticks = cpuTicks(pid) - ticksBefore;
		times.sort((a, b) => a - b);
		const result = {
			handshakes,
			perSecond: handshakes / (wall / 1000),
			medianMs: times[times.length >> 1],
			cpuMsPerHandshake: (ticks * (1000 / ticksPerSecond)) / handshakes,
		};
		log(`wss: ${handshakes} handshakes in ${wall} ms, ${ticks} CPU ticks`);
		return result;
	} finally {
		await device.stop();
	}
}

export function parseTlsServerArgs(argv: string[]): { clients: number; handshakes: number; json: boolean } | "help" {
	let clients = 4,
		handshakes = 40,
		json = false;
	const count = (value: string | undefined, flag: string) => {
		const n = Number(value);
		if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} takes a whole number of at least 1, not "${value ?? ""}"`);
		return n;
	};
	for (let i = 0; i < argv.length; i++) {
		const arg = argv[i];
		if (arg === "tls-server") continue;
		if (arg === "--help" || arg === "-h") return "help";
		if (arg === "--json") json = true;
		else if (arg === "--clients") clients = count(argv[++i], arg);
		else if (arg === "--handshakes") handshakes = count(argv[++i], arg);
		else if (arg === "--target" || arg === "-t") {
			if (argv[++i] !== "sim") throw new Error(`bench tls-server runs on the simulator only (--target sim), not "${argv[i] ?? ""}"`);
		} else throw new Error(`unknown argument "${arg}"`);
	}
	return { clients, handshakes, json };
}

export async function runTlsServerBench(argv: string[]): Promise<number> {
	const options = argumentsOr(parseTlsServerArgs, argv, `${tlsServerUsage}\n`);
	if (typeof options === "number") return options;
	const { clients, handshakes, json } = options;
	const pki = makeTestPki();
	const log = json ? () => undefined : (line: string) => console.log(line);
	const plain = await measureMemory("ws", clients, pki, log);
	const secure = await measureMemory("wss", clients, pki, log);
	const time = await measureTime(handshakes, pki, log);
	// A board's initial heaps (esp32 defaults), beside the idle app with TLS on, one handshake's transient kept free.
	const creation = esp32DefaultCreation;
	const initial = creation.slotsInitial * boardSlotSize + creation.chunkInitial;
	const idleApp = secure.without.slots * boardSlotSize + secure.without.chunk;
	const perClient = boardBytes(secure.perClient);
	// The first handshake's transient, bounded by what the heaps grew to beyond the initial ones (0 when they did not grow).
	const grown =
		Math.max(0, secure.heapsAfterFirst.slots - creation.slotsInitial) * boardSlotSize + Math.max(0, secure.heapsAfterFirst.chunk - creation.chunkInitial);
	const fit = Math.max(0, Math.floor((initial - idleApp - grown) / perClient));
	const result = {
		plain,
		secure,
		tlsOverPlainPerClient: boardBytes(secure.perClient) - boardBytes(plain.perClient),
		fitInInitialHeaps: fit,
		initialHeapBytes: initial,
		idleAppBytes: idleApp,
		time,
	};
	if (json) {
		console.log(JSON.stringify(result, null, 2));
		return 0;
	}
	console.log("");
	console.log(`| per client (${clients} idle clients, one echo each) | slots | chunk bytes | board bytes (slots x 16 + chunk) |`);
	console.log("|---|---:|---:|---:|");
	for (const r of [plain, secure])
		console.log(
			`| ${r.kind === "wss" ? "wss:// (TLS 1.2)" : "ws:// (reference)"} | ${r.perClient.slots.toFixed(1)} | ${r.perClient.chunk.toFixed(0)} | ${boardBytes(r.perClient).toFixed(0)} |`,
		);
	console.log(`| TLS beyond ws:// | | | ${result.tlsOverPlainPerClient.toFixed(0)} |`);
	console.log("");
	console.log("| the idle app, and the heaps after the first client's handshake | live slots | live chunk bytes | heap slots | heap chunk bytes |");
	console.log("|---|---:|---:|---:|---:|");
	for (const r of [plain, secure])
		console.log(`| ${r.kind} | ${r.without.slots} | ${r.without.chunk} | ${r.heapsAfterFirst.slots} | ${r.heapsAfterFirst.chunk} |`);
	console.log("");
	console.log(
		`wss clients that fit in a board's initial XS heaps (${initial} bytes: ${creation.slotsInitial} slots + ${creation.chunkInitial} chunk bytes) beside the idle app (${idleApp} bytes): ${fit}`,
	);
	console.log(
		`handshakes one after another: ${time.perSecond.toFixed(1)}/s (median ${time.medianMs.toFixed(0)} ms as the client sees it), ${time.cpuMsPerHandshake.toFixed(1)} ms of the simulator's CPU each`,
	);
	return 0;
}
