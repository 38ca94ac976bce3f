/*
 * host-harness bench memory --target sim: the app's XS heaps, measured on
 * the simulator's debug build through the xsbug protocol.
 *
 * Each reading follows a forced full garbage collection: the harness's
 * xsbug server sends <step/> to the idle machine, which breaks at once; on a
 * break the simulator runs fxCollectGarbage (compacting: slots, chunks,
 * keys) and sends an instrumentation sample before the <break> itself
 * (XsbugLogServer.collectGarbage). From that sample:
 *
 *   "Chunk used"  the live chunk heap, bytes (strings, ArrayBuffer bytes,
 *                 arrays' items, code of closures…)
 *   "Slot used"   the live slots times sizeof(txSlot), bytes: 32 on the 64-bit
 *                 simulator, 16 on an ESP32; live slots = Slot used / 32 here
 *   "Keys used"   the machine's own keys (interned property names)
 *
 * A reading repeats the collection until two in a row agree, or takes the
 * smallest of three. The phases, with N clients (--clients, default 4):
 *
 *   idle app               after boot, no client
 *   idle WS connection     N `ws` clients connected, each echoed once, idle:
 *                          (reading - idle) / N
 *   in-flight 64 KiB       each of those N sends one 64 KiB binary message while
 *                          its socket is paused (not reading the echo):
 *                          (reading - idle WS) / N; then they read their echoes
 *                          and close
 *   idle TCP connection    N TCP clients connected, each echoed once, idle
 *   echo blocked           N new WS clients, paused, send 64 KiB messages until
 *                          the device stops reading (every buffer between them
 *                          full, its write queue held): (reading - the same
 *                          clients idle) / N; then they are dropped. About a
 *                          minute on the simulator (it reads 2 KiB a turn);
 *                          the device runs with wsHeartbeat=0 for it, as a
 *                          paused client answers no ping. --no-blocked skips it
 *   faults, twice          4 WS clients reset mid-frame, 4 WS clients destroyed
 *                          without a Close, 2 TCP clients reset mid-stream, 1 TCP
 *                          client half-closing; each case waits until the
 *                          device has logged every connection closed; a reading
 *                          after each round, against idle
 *
 * Board units: slots x 16 bytes. Chunk bytes are the simulator's: on the
 * 32-bit ESP32 a chunk's header is 8 bytes, not 16, and slot arrays in
 * chunks are half as large, so the board's figure is at most this one
 * (equal for bulk bytes such as a message's ArrayBuffer).
 */

import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import type * as net from "node:net";
import * as path from "node:path";
import WebSocket from "ws";
import { argumentsOr } from "../cli.js";
import { Endpoint, Endpoints, RunningDevice, startDevice } from "../device/targets.js";
import { checkedConfig } from "../lib/arguments.js";
import { simBuildDir } from "../device/sim.js";
import { freeServicePorts } from "../lib/ports.js";
import { createLink } from "../lib/netns.js";
import { SntpServer } from "../peers/sntp.js";
import { startNetnsRelay } from "../lib/netns-relay.js";
import { connect, readBytes, sha256 } from "../oracle/tcp-echo.js";
import { closed, nextMessage, openWs } from "../oracle/ws-echo.js";
import { RawConnection } from "../conformance/client.js";
import { frame, Op } from "../conformance/frames.js";
import { XsbugLogServer, type XsbugMachine } from "../xsbug/log-server.js";
import { schema } from "../../app/config-schema.js";
import { KiB } from "./stats.js";
import { censusPrograms } from "./census.js";
import { churnDeviceConfig, churnProblems, measureChurn, renderChurn } from "./churn.js";

/** sizeof(txSlot) on a 32-bit board (ESP32). */
export const boardSlotSize = 16;

/** XS heap creation values, as mcconfig writes them (CREATION = -c chunk,+chunk,slots,+slots,stack,…,static,…). */
export interface Creation {
	chunkInitial: number;
	chunkIncremental: number;
	slotsInitial: number;
	slotsIncremental: number;
	stackSlots: number;
	/** 0: the heaps grow from the system heap as needed; else one fixed block of this many bytes. */
	static: number;
	/** Where these figures come from. */
	source: string;
}

/**
 * The default esp32 creation of this project (`mcconfig -p esp32`): the SDK's
 * examples/manifest_base.json gives esp32 no chunk or heap creation, so
 * tools/mcconfig.js filterCreation supplies its defaults: a 32768-byte chunk
 * heap growing by 1024, 2048 slots growing by 64, 384 stack slots, static 0.
 * Checked against a generated esp32 makefile:
 * CREATION = -c 32768,1024,2048,64,384,32,32,53,3,1024,17,0,main,0
 */
export const esp32DefaultCreation: Creation = {
	chunkInitial: 32768, chunkIncremental: 1024, slotsInitial: 2048, slotsIncremental: 64, stackSlots: 384, static: 0,
	source: "SDK defaults (tools/mcconfig.js filterCreation; manifest_base.json sets none for esp32)",
};

/** The creation line of an mcconfig-generated makefile under dir, if there is one. */
export function creationFromBuild(dir: string): Creation | undefined {
	const makefile = findMakefile(dir);
	if (!makefile)
		return undefined;
	const match = /^CREATION = -c ([^\n]+)$/m.exec(fs.readFileSync(makefile, "utf8"));
	if (!match)
		return undefined;
	const v = match[1].split(",").map(Number);
	return { chunkInitial: v[0], chunkIncremental: v[1], slotsInitial: v[2], slotsIncremental: v[3], stackSlots: v[4], static: v[11], source: path.relative(process.cwd(), makefile) || makefile };
}

function findMakefile(dir: string): string | undefined {
	if (!fs.existsSync(dir))
		return undefined;
	for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
		const full = path.join(dir, entry.name);
		if (entry.isFile() && entry.name === "makefile")
			return full;
		if (entry.isDirectory()) {
			const found = findMakefile(full);
			if (found)
				return found;
		}
	}
	return undefined;
}

/* ------------------------------------------------------------- readings */

export interface HeapReading {
	/** Live chunk bytes ("Chunk used" after the collection). */
	chunk: number;
	/** Live slots ("Slot used" / sizeof(txSlot)). */
	slots: number;
	/** The machine's keys ("Keys used"). */
	keys: number;
	/** Collections it took: 2 when the first two agreed. */
	collections: number;
	/** Whether two consecutive collections agreed (else: the smallest of three, field by field). */
	agreed: boolean;
}

/** sizeof(txSlot) from the machine's login: "XS 17.7.0 64-bit LE 16-bit ID" → 32. */
export function slotSizeOf(version: string): number {
	const bits = /(\d+)-bit\b/.exec(version);
	if (!bits)
		throw new Error(`cannot tell the machine's word size from its login "${version}"`);
	return bits[1] === "64" ? 32 : 16;
}

/** Heap readings of one machine, each after a forced full collection. */
export class HeapProbe {
	readonly slotSize: number;

	constructor(readonly server: XsbugLogServer, readonly machine: XsbugMachine) {
		this.slotSize = slotSizeOf(machine.version);
	}

	/** One collection's figures. */
	async collect(): Promise<Omit<HeapReading, "collections" | "agreed">> {
		const { values } = await this.server.collectGarbage(this.machine.tag, 20_000);
		const chunk = values["Chunk used"];
		const slotBytes = values["Slot used"];
		if (chunk === undefined || slotBytes === undefined)
			throw new Error(`the sample has no "Chunk used" or "Slot used" (instruments: ${Object.keys(values).join(", ")})`);
		if (slotBytes % this.slotSize)
			throw new Error(`"Slot used" ${slotBytes} is not a whole number of ${this.slotSize}-byte slots`);
		return { chunk, slots: slotBytes / this.slotSize, keys: values["Keys used"] ?? 0 };
	}

	/** Collect until two readings in a row agree (chunk and slots), or take the smallest of three. */
	async read(): Promise<HeapReading> {
		const taken: Omit<HeapReading, "collections" | "agreed">[] = [];
		for (let i = 0; i < 3; i++) {
			const r = await this.collect();
			const previous = taken.at(-1);
			taken.push(r);
			if (previous && previous.chunk === r.chunk && previous.slots === r.slots)
				return { ...r, collections: taken.length, agreed: true };
		}
		return {
			chunk: Math.min(...taken.map(r => r.chunk)),
			slots: Math.min(...taken.map(r => r.slots)),
			keys: Math.min(...taken.map(r => r.keys)),
			collections: taken.length,
			agreed: false,
		};
	}
}

export interface HeapDelta {
	slots: number;
	chunk: number;
	keys: number;
}

/** (after - before) / count, per field. */
export function delta(after: HeapReading, before: HeapReading, count = 1): HeapDelta {
	return { slots: (after.slots - before.slots) / count, chunk: (after.chunk - before.chunk) / count, keys: (after.keys - before.keys) / count };
}

/* --------------------------------------------------------------- device */

export interface MemoryDevice {
	device: RunningDevice;
	server: XsbugLogServer;
	machine: XsbugMachine;
	probe: HeapProbe;
	stop(): Promise<void>;
}

/**
 * Device config for memory runs: free loopback ports, room for `clients` at
 * once on each server, no WebSocket heartbeat when `blocked` (clients that
 * read nothing for a minute answer no ping: the heartbeat would drop them),
 * then the caller's keys.
 */
export async function memoryDeviceConfig(clients: number, extra: Record<string, string> = {}, blocked = false): Promise<Record<string, string>> {
	return {
		...await freeServicePorts(),
		tcpMaxClients: String(clients + 2),
		wsMaxClients: String(clients + 2),
		...(blocked ? { wsHeartbeat: "0" } : {}),
		...extra,
	};
}

export interface MemoryDeviceOptions {
	/** The server makes the census list at the machine's start, so readCensus (census.ts) counts what the servers hold. */
	census?: boolean;
	/** sim (default), or lwip: the simulator over lwIP in a network namespace of its own, its xsbug connection relayed out (lib/netns-relay.ts). */
	target?: "sim" | "lwip";
	/**
	 * The clock as on a board (the simulator's platform config leaves it off):
	 * the SNTP client against an SNTP server of the harness's, waited for
	 * until it has set the clock, then idle until its next sync (sntpInterval).
	 */
	clock?: boolean;
}

/**
 * Boot the simulator's debug build connected to an xsbug server of ours;
 * resolves once its services are up.
 */
export async function startMemoryDevice(config: Record<string, string>, options: MemoryDeviceOptions = {}): Promise<MemoryDevice> {
	// No break on exceptions: only our steps (and the census's start) stop the machine.
	const server = new XsbugLogServer({ breakOnExceptions: false, ...(options.census ? { startProgram: censusPrograms().start } : {}) });
	const undo: (() => Promise<void> | void)[] = [() => server.close()];
	const stop = async () => {
		for (const step of undo.splice(0).reverse())
			await step();
	};
	const clock = async (address: string) => {
		if (!options.clock)
			return config;
		const sntp = await SntpServer.start(address);
		undo.push(() => sntp.close());
		return { ...config, sntpServers: sntp.server };
	};
	try {
		let device: RunningDevice;
		if (options.target === "lwip") {
			const link = createLink();
			undo.push(() => link.remove());
			const socketPath = path.join(os.tmpdir(), `xsnk-xsbug-${process.pid}-${link.ns}.sock`);
			undo.push(() => fs.rmSync(socketPath, { force: true }));
			await server.startOnPath(socketPath);
			const relay = await startNetnsRelay(link, socketPath);
			undo.push(() => relay.stop());
			device = await startDevice({ target: "lwip", config: await clock(link.hostAddress), lan: link, xsbugPort: relay.port, readyTimeoutMs: 120_000 });
		}
		else
			device = await startDevice({ target: "sim", config: await clock("127.0.0.1"), xsbugPort: await server.start(0, "127.0.0.1") });
		undo.push(() => device.stop());
		const machine = await server.waitForMachine(20_000);
		await server.waitForLog(/app: services up/, 20_000);
		if (options.clock)
			await server.waitForLog(/sntp: clock set/, 30_000);
		return { device, server, machine, probe: new HeapProbe(server, machine), stop };
	}
	catch (e) {
		await stop();
		throw e;
	}
}

/* -------------------------------------------------------------- clients */

const sleep = (ms: number) => new Promise<void>(resolve => setTimeout(resolve, ms));

/** After the last "Connection closed" (or the last client opened), let the device finish its callbacks before a reading. */
const settleAfterCloseMs = 300;

async function until(test: () => boolean, timeoutMs: number, what: string): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!test()) {
		if (Date.now() > deadline)
			throw new Error(`${what}: not within ${timeoutMs} ms`);
		await sleep(10);
	}
}

function localPort(socket: net.Socket | undefined): number {
	const port = socket?.localPort;
	if (!port)
		throw new Error("a client socket has no local port");
	return port;
}

/** The local port of a `ws` client (the device logs its peers as 127.0.0.1:<port>). */
function wsPort(ws: WebSocket): number {
	return localPort((ws as unknown as { _socket?: net.Socket })._socket);
}

/** Wait until the device has logged each of these client ports closed (logs after `since`). */
export async function waitClosed(server: XsbugLogServer, ports: number[], since: number, timeoutMs = 20_000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	for (const port of ports)
		await server.waitForLog(new RegExp(`Connection closed: 127\\.0\\.0\\.1:${port}(?!\\d)`), Math.max(1, deadline - Date.now()), { since });
}

export interface WsClients {
	sockets: WebSocket[];
	ports: number[];
}

/** n `ws` clients connected to the device, each with one 16-byte echo done. */
export async function openIdleWs(url: string, n: number): Promise<WsClients> {
	const sockets: WebSocket[] = [];
	try {
		for (let i = 0; i < n; i++) {
			const ws = await openWs(url);
			sockets.push(ws);
			ws.on("error", () => undefined);
			const message = randomBytes(16);
			const back = nextMessage(ws);
			ws.send(message);
			if (!(await back).data.equals(message))
				throw new Error("a WebSocket echo came back different");
		}
	}
	catch (e) {
		for (const ws of sockets)
			ws.terminate();
		throw e;
	}
	return { sockets, ports: sockets.map(wsPort) };
}

/** Close with a Close handshake and wait until the device has logged them closed. */
export async function closeWs(server: XsbugLogServer, clients: WsClients, since: number): Promise<void> {
	await Promise.all(clients.sockets.map(ws => {
		const done = closed(ws);
		ws.close(1000, "done");
		return done;
	}));
	await waitClosed(server, clients.ports, since);
}

export interface TcpClients {
	sockets: net.Socket[];
	ports: number[];
}

/** n TCP clients connected to the device's echo server, each with one 16-byte echo done. */
export async function openIdleTcp(endpoint: Endpoint, n: number): Promise<TcpClients> {
	const sockets: net.Socket[] = [];
	try {
		for (let i = 0; i < n; i++) {
			const socket = await connect(endpoint);
			sockets.push(socket);
			socket.on("error", () => undefined);
			const message = randomBytes(16);
			const back = readBytes(socket, message.length);
			socket.write(message);
			if (!(await back).equals(message))
				throw new Error("a TCP echo came back different");
		}
	}
	catch (e) {
		for (const socket of sockets)
			socket.destroy();
		throw e;
	}
	return { sockets, ports: sockets.map(localPort) };
}

/** End (FIN) and wait until the device has logged them closed. */
export async function closeTcp(server: XsbugLogServer, clients: TcpClients, since: number): Promise<void> {
	for (const socket of clients.sockets) {
		socket.resume();
		socket.end();
	}
	await waitClosed(server, clients.ports, since);
	for (const socket of clients.sockets)
		socket.destroy();
}

/**
 * Each client pauses its socket (reads nothing more) and sends one binary
 * message of `size` bytes; resolves once the device has logged each message
 * received whole, or after settleMs, with how many it did. The echoes then
 * wait in the paused sockets, the device's socket buffers or its queue.
 */
export async function sendInFlight(server: XsbugLogServer, clients: WsClients, size: number, settleMs = 3000): Promise<{ messages: Buffer[]; receivedWhole: number }> {
	const since = server.mark();
	const messages = clients.sockets.map(() => randomBytes(size));
	clients.sockets.forEach((ws, i) => {
		ws.pause();
		ws.send(messages[i], { binary: true });
	});
	let receivedWhole = 0;
	const deadline = Date.now() + settleMs;
	for (const port of clients.ports) {
		try {
			await server.waitForLog(new RegExp(`Received binary message of ${size} bytes from 127\\.0\\.0\\.1:${port}(?!\\d)`), Math.max(1, deadline - Date.now()), { since });
			receivedWhole++;
		}
		catch {
			// still in flight towards the device: its echo is blocked
		}
	}
	return { messages, receivedWhole };
}

/** Resume the paused clients and check that each gets its message back whole. */
export async function drainInFlight(clients: WsClients, messages: Buffer[]): Promise<void> {
	await Promise.all(clients.sockets.map(async (ws, i) => {
		const back = nextMessage(ws, 30_000);
		ws.resume();
		const { data } = await back;
		if (sha256(data) !== sha256(messages[i]))
			throw new Error(`an in-flight ${messages[i].length}-byte message came back different (${data.length} bytes)`);
	}));
}

/**
 * Each client pauses its socket and sends `size`-byte binary messages, two
 * at most not yet received whole by the device, until the device has
 * received none of its messages for stallMs: every buffer between them is
 * full and the device's echo is blocked, its write queue held. Resolves with
 * the messages each client sent. Gives up on a client after maxBytes.
 */
export async function sendUntilBlocked(server: XsbugLogServer, clients: WsClients, size: number, options: { stallMs?: number; maxBytes?: number; timeoutMs?: number } = {}): Promise<{ sent: number[]; blocked: boolean[] }> {
	const stallMs = options.stallMs ?? 3000;
	const maxBytes = options.maxBytes ?? 32 * 1024 * KiB;
	const timeoutMs = options.timeoutMs ?? 240_000;
	const n = clients.sockets.length;
	const sent = new Array<number>(n).fill(0);
	const received = new Array<number>(n).fill(0);
	const progressAt = new Array<number>(n).fill(Date.now());
	const pattern = new RegExp(`Received binary message of ${size} bytes from 127\\.0\\.0\\.1:(\\d+)$`);
	const closedPattern = /Connection closed: 127\.0\.0\.1:(\d+)/;
	let closedLine: string | undefined;
	const onLog = (log: { text: string }) => {
		const match = pattern.exec(log.text);
		const i = match ? clients.ports.indexOf(Number(match[1])) : -1;
		if (i >= 0) {
			received[i]++;
			progressAt[i] = Date.now();
		}
		const gone = closedPattern.exec(log.text);
		if (gone && clients.ports.includes(Number(gone[1])))
			closedLine ??= log.text;
	};
	server.on("log", onLog);
	const payload = randomBytes(size);
	const deadline = Date.now() + timeoutMs;
	try {
		for (const ws of clients.sockets)
			ws.pause();
		for (;;) {
			if (closedLine)
				throw new Error(`the device closed a client while its echo was being blocked (wsHeartbeat on? a paused client answers no ping): ${closedLine}`);
			const now = Date.now();
			const blocked = clients.sockets.map((_, i) => sent[i] > received[i] && now - progressAt[i] >= stallMs);
			const spent = sent.map(count => count * size >= maxBytes);
			if (blocked.every((b, i) => b || spent[i]))
				return { sent, blocked };
			if (now > deadline)
				throw new Error(`the device kept reading for ${timeoutMs} ms (messages sent: ${sent.join(", ")})`);
			clients.sockets.forEach((ws, i) => {
				if (!blocked[i] && !spent[i] && sent[i] - received[i] < 2 && ws.bufferedAmount < size) {
					ws.send(payload, { binary: true });
					if (sent[i]++ === received[i])
						progressAt[i] = now;
				}
			});
			await sleep(20);
		}
	}
	finally {
		server.off("log", onLog);
	}
}

/** Terminate the clients (no Close; unread echoes make it a reset) and wait until the device has logged them closed. */
export async function dropWs(server: XsbugLogServer, clients: WsClients, since: number): Promise<void> {
	for (const ws of clients.sockets)
		ws.terminate();
	await waitClosed(server, clients.ports, since, 30_000);
}

/* --------------------------------------------------------------- faults */

export interface FaultCase {
	name: string;
	/** Put the device's connections through the fault; resolves with the client ports the device must log closed. */
	run(endpoints: Endpoints): Promise<number[]>;
}

function wsUrl(endpoints: Endpoints): string {
	if (!endpoints.ws)
		throw new Error("the device reports no WebSocket endpoint");
	return endpoints.ws;
}

function tcpEndpoint(endpoints: Endpoints): Endpoint {
	if (!endpoints.tcp)
		throw new Error("the device reports no TCP echo server");
	return endpoints.tcp;
}

/** n WebSocket clients each send part of a 64 KiB binary frame, see part of its echo, and reset (RST). */
export function wsResetMidFrame(n: number): FaultCase {
	return {
		name: `${n} WS clients reset mid-frame`,
		async run(endpoints) {
			const url = new URL(wsUrl(endpoints));
			const connections = await Promise.all(Array.from({ length: n }, () => RawConnection.open(url, 5000)));
			const ports = connections.map(c => localPort(c.socket));
			await Promise.all(connections.map(async c => {
				let received = 0;
				c.socket.on("data", (chunk: Buffer) => { received += chunk.length; });
				const whole = frame(Op.BINARY, randomBytes(64 * KiB));
				c.socket.write(whole.subarray(0, 14 + 4 * KiB));		// 64-bit length form: 2 + 8 + mask 4, then 4 KiB of payload
				await until(() => received > 0, 5000, "the device echoing the first part of a frame");
				c.socket.resetAndDestroy();
			}));
			return ports;
		},
	};
}

/** n `ws` clients, each echoed once, destroyed without a Close (FIN, no closing handshake). */
export function wsDestroyedWithoutClose(n: number): FaultCase {
	return {
		name: `${n} WS clients destroyed without a Close`,
		async run(endpoints) {
			const clients = await openIdleWs(wsUrl(endpoints), n);
			for (const ws of clients.sockets)
				ws.terminate();
			return clients.ports;
		},
	};
}

/** n TCP clients stream 32 KiB, see part of the echo, and reset (RST). */
export function tcpResetMidStream(n: number): FaultCase {
	return {
		name: `${n} TCP clients reset mid-stream`,
		async run(endpoints) {
			const sockets = await Promise.all(Array.from({ length: n }, () => connect(tcpEndpoint(endpoints))));
			const ports = sockets.map(localPort);
			await Promise.all(sockets.map(async socket => {
				socket.on("error", () => undefined);
				let received = 0;
				socket.on("data", (chunk: Buffer) => { received += chunk.length; });
				socket.write(randomBytes(32 * KiB));
				await until(() => received >= KiB, 5000, "the device echoing the first KiB of a stream");
				socket.resetAndDestroy();
			}));
			return ports;
		},
	};
}

/** n TCP clients send 4 KiB then half-close (FIN), and read the echo until the device closes. */
export function tcpHalfClose(n: number): FaultCase {
	return {
		name: `${n} TCP client${n === 1 ? "" : "s"} half-closing`,
		async run(endpoints) {
			const sockets = await Promise.all(Array.from({ length: n }, () => connect(tcpEndpoint(endpoints))));
			const ports = sockets.map(localPort);
			for (const socket of sockets) {
				socket.on("error", () => undefined);
				socket.resume();
				socket.end(randomBytes(4 * KiB));
			}
			return ports;
		},
	};
}

/** The fault round: the brief's cases, in order. */
export function faultRound(): FaultCase[] {
	return [wsResetMidFrame(4), wsDestroyedWithoutClose(4), tcpResetMidStream(2), tcpHalfClose(1)];
}

/** Run one case and wait until the device has logged each of its connections closed. */
export async function runFault(memory: MemoryDevice, fault: FaultCase, timeoutMs = 20_000): Promise<void> {
	const since = memory.server.mark();
	const ports = await fault.run(memory.device.endpoints);
	try {
		await waitClosed(memory.server, ports, since, timeoutMs);
	}
	catch (e) {
		throw new Error(`${fault.name}: the device did not close every connection: ${(e as Error).message}`);
	}
	await sleep(settleAfterCloseMs);
}

/* -------------------------------------------------------------- the run */

export interface MemorySettings {
	clients: number;
	messageSize: number;
	/** Fault rounds (each against idle). */
	faultRounds: number;
	/** Also measure connections whose echo is blocked (every buffer full: takes a minute on the simulator). */
	blocked: boolean;
}

export const memoryDefaults: MemorySettings = { clients: 4, messageSize: 64 * KiB, faultRounds: 2, blocked: true };

export interface PerUnit extends HeapDelta {
	of: number;
}

export interface Budget {
	creation: Creation;
	/** Idle clients that fit in the initial heaps beside the idle app (Infinity: that heap does not limit). */
	ws: { byChunk: number; bySlots: number; fit: number };
	tcp: { byChunk: number; bySlots: number; fit: number };
	/** XS heap bytes per idle client on the board: slots x 16 + chunk bytes (an upper bound). */
	boardBytesPerWs: number;
	boardBytesPerTcp: number;
	idleBoardBytes: number;
	/** The app at its default client limits, all clients idle: XS heap bytes on the board. */
	atDefaults: { wsClients: number; tcpClients: number; boardBytes: number };
}

export interface MemoryResult {
	kind: "memory";
	target: "sim";
	/** The machine's login: "XS 17.7.0 64-bit LE 16-bit ID". */
	machine: string;
	slotSize: number;
	boardSlotSize: number;
	settings: MemorySettings;
	simCreation?: Creation;
	readings: {
		idle: HeapReading;
		ws: HeapReading;
		inFlight: HeapReading;
		afterWs: HeapReading;
		tcp: HeapReading;
		afterTcp: HeapReading;
		/** Clients open before blocking, blocked, and after they were dropped (when measured). */
		blockedBase?: HeapReading;
		blocked?: HeapReading;
		afterBlocked?: HeapReading;
		faults: HeapReading[];
	};
	perWs: PerUnit;
	perTcp: PerUnit;
	perInFlight: PerUnit & { receivedWhole: number; size: number };
	/** Per connection whose echo is blocked, against the same connections open and idle; with the bytes each client had sent. */
	perBlocked?: PerUnit & { sentBytes: number[] };
	/** Each fault round's reading minus idle. */
	faultsVsIdle: HeapDelta[];
	faultCases: string[];
	budget: Budget;
	notes: string[];
}

function fits(room: number, per: number): number {
	return per > 0 ? Math.max(0, Math.floor(room / per)) : Infinity;
}

export function budgetFor(creation: Creation, idle: HeapReading, perWs: HeapDelta, perTcp: HeapDelta): Budget {
	const per = (d: HeapDelta) => {
		const byChunk = fits(creation.chunkInitial - idle.chunk, d.chunk);
		const bySlots = fits(creation.slotsInitial - idle.slots, d.slots);
		return { byChunk, bySlots, fit: Math.min(byChunk, bySlots) };
	};
	return {
		creation,
		ws: per(perWs),
		tcp: per(perTcp),
		boardBytesPerWs: Math.round(perWs.slots * boardSlotSize + perWs.chunk),
		boardBytesPerTcp: Math.round(perTcp.slots * boardSlotSize + perTcp.chunk),
		idleBoardBytes: idle.slots * boardSlotSize + idle.chunk,
		atDefaults: {
			wsClients: schema.wsMaxClients.default,
			tcpClients: schema.tcpMaxClients.default,
			boardBytes: Math.round(idle.slots * boardSlotSize + idle.chunk + schema.wsMaxClients.default * (perWs.slots * boardSlotSize + perWs.chunk) + schema.tcpMaxClients.default * (perTcp.slots * boardSlotSize + perTcp.chunk)),
		},
	};
}

/** The whole measurement on a booted memory device. `log` gets a line per phase. */
export async function measureMemory(memory: MemoryDevice, settings: MemorySettings, log: (line: string) => void = () => undefined): Promise<MemoryResult> {
	const { server, probe, device } = memory;
	const n = settings.clients;
	const notes: string[] = [];
	const url = wsUrl(device.endpoints);

	log("idle app …");
	const idle = await probe.read();

	log(`${n} idle WebSocket clients …`);
	let since = server.mark();
	const wsClients = await openIdleWs(url, n);
	await sleep(settleAfterCloseMs);
	const ws = await probe.read();

	log(`${n} in-flight ${settings.messageSize}-byte messages …`);
	const { messages, receivedWhole } = await sendInFlight(server, wsClients, settings.messageSize);
	await sleep(settleAfterCloseMs);
	const inFlight = await probe.read();
	await drainInFlight(wsClients, messages);
	await closeWs(server, wsClients, since);
	await sleep(settleAfterCloseMs);
	const afterWs = await probe.read();
	if (receivedWhole === n)
		notes.push(`in flight: the device read each ${settings.messageSize}-byte message whole while its client read nothing: the echo streams (at most its write queue held at once), the rest waited in socket buffers outside the XS heap`);
	else
		notes.push(`in flight: the device read ${receivedWhole} of ${n} messages whole while their clients read nothing; the others were held back by the echo's flow control`);

	log(`${n} idle TCP clients …`);
	since = server.mark();
	const tcpClients = await openIdleTcp(tcpEndpoint(device.endpoints), n);
	await sleep(settleAfterCloseMs);
	const tcp = await probe.read();
	await closeTcp(server, tcpClients, since);
	await sleep(settleAfterCloseMs);
	const afterTcp = await probe.read();

	let blockedPart: Pick<MemoryResult, "perBlocked"> & { readings?: Pick<MemoryResult["readings"], "blockedBase" | "blocked" | "afterBlocked"> } = {};
	if (settings.blocked) {
		log(`${n} WebSocket clients with their echo blocked (a minute on the simulator) …`);
		since = server.mark();
		const blockedClients = await openIdleWs(url, n);
		await sleep(settleAfterCloseMs);
		const blockedBase = await probe.read();
		const { sent, blocked: held } = await sendUntilBlocked(server, blockedClients, settings.messageSize);
		const blocked = await probe.read();
		await dropWs(server, blockedClients, since);
		await sleep(settleAfterCloseMs);
		const afterBlocked = await probe.read();
		if (!held.every(Boolean))
			notes.push(`blocked: ${held.filter(b => !b).length} of ${n} clients sent their cap without the device stopping to read`);
		blockedPart = {
			perBlocked: { ...delta(blocked, blockedBase, n), of: n, sentBytes: sent.map(count => count * settings.messageSize) },
			readings: { blockedBase, blocked, afterBlocked },
		};
	}

	const faults: HeapReading[] = [];
	const cases = faultRound();
	for (let round = 1; round <= settings.faultRounds; round++) {
		for (const fault of cases) {
			log(`faults, round ${round}: ${fault.name} …`);
			await runFault(memory, fault);
		}
		faults.push(await probe.read());
	}

	const perWs = { ...delta(ws, idle, n), of: n };
	const perTcp = { ...delta(tcp, afterWs, n), of: n };
	const simCreation = creationFromBuild(`${simBuildDir}-debug`);
	return {
		kind: "memory",
		target: "sim",
		machine: memory.machine.version,
		slotSize: probe.slotSize,
		boardSlotSize,
		settings,
		...(simCreation ? { simCreation } : {}),
		readings: { idle, ws, inFlight, afterWs, tcp, afterTcp, ...blockedPart.readings, faults },
		perWs,
		perTcp,
		perInFlight: { ...delta(inFlight, ws, n), of: n, receivedWhole, size: settings.messageSize },
		...(blockedPart.perBlocked ? { perBlocked: blockedPart.perBlocked } : {}),
		faultsVsIdle: faults.map(f => delta(f, idle)),
		faultCases: cases.map(c => c.name),
		budget: budgetFor(esp32DefaultCreation, idle, perWs, perTcp),
		notes,
	};
}

/* ---------------------------------------------------------------- table */

const grouped = (value: number) => {
	const rounded = Math.round(value * 10) / 10;
	const [whole, fraction] = String(Math.abs(rounded)).split(".");
	return `${rounded < 0 ? "-" : ""}${whole.replace(/\B(?=(\d{3})+(?!\d))/g, " ")}${fraction ? `.${fraction}` : ""}`;
};
const signed = (value: number) => (value > 0 ? `+${grouped(value)}` : grouped(value));
const fitText = (n: number) => (Number.isFinite(n) ? String(n) : "no limit");

export function renderMemoryTable(result: MemoryResult): string {
	const r = result.readings;
	const row = (label: string, d: { slots: number; chunk: number }, sign = false) => {
		const f = sign ? signed : grouped;
		return [label, f(d.slots), f(d.slots * result.slotSize), f(d.slots * result.boardSlotSize), f(d.chunk)];
	};
	const rows = [
		["reading (after a forced full GC)", "live slots", `slot B sim`, `slot B esp32`, "chunk B"],
		row("idle app", r.idle),
		row(`per idle WS connection (of ${result.perWs.of})`, result.perWs),
		row(`per idle TCP connection (of ${result.perTcp.of})`, result.perTcp),
		row(`per in-flight ${result.perInFlight.size / KiB} KiB WS message (of ${result.perInFlight.of})`, result.perInFlight),
		...(result.perBlocked ? [row(`per WS connection, echo blocked (of ${result.perBlocked.of})`, result.perBlocked)] : []),
		row("after WS clients closed - idle", delta(r.afterWs, r.idle), true),
		row("after TCP clients closed - idle", delta(r.afterTcp, r.idle), true),
		...(r.afterBlocked ? [row("after blocked WS clients dropped - idle", delta(r.afterBlocked, r.idle), true)] : []),
		...result.faultsVsIdle.map((d, i) => row(`after faults, round ${i + 1} - idle`, d, true)),
	];
	const widths = rows[0].map((_, c) => Math.max(...rows.map(x => x[c].length)));
	const line = (x: string[]) => x.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join("  ").trimEnd();
	const b = result.budget;
	const c = b.creation;
	const out = [
		`XS heaps, Moddable simulator debug build (${result.machine}: ${result.slotSize}-byte slots; esp32: ${result.boardSlotSize}-byte slots)`,
		line(rows[0]),
		widths.map(w => "-".repeat(w)).join("  "),
		...rows.slice(1).map(line),
		`fault round: ${result.faultCases.join("; ")}`,
		`esp32 budget, default creation (chunk ${c.chunkInitial} B +${c.chunkIncremental}, ${c.slotsInitial} slots +${c.slotsIncremental}, static ${c.static}): ` +
			`idle app ${r.idle.slots} slots (${grouped(r.idle.slots * result.boardSlotSize)} B) + ${grouped(r.idle.chunk)} chunk B = ${grouped(b.idleBoardBytes)} B; ` +
			`in the initial heaps beside it fit ${fitText(b.ws.fit)} idle WS clients (chunk ${fitText(b.ws.byChunk)}, slots ${fitText(b.ws.bySlots)}) ` +
			`or ${fitText(b.tcp.fit)} idle TCP clients (chunk ${fitText(b.tcp.byChunk)}, slots ${fitText(b.tcp.bySlots)})` +
			(r.idle.slots > c.slotsInitial ? `; the idle app alone is past the initial ${c.slotsInitial} slots, so the slot heap has grown already` : ""),
		`esp32 XS heap per idle client: WS ${grouped(b.boardBytesPerWs)} B, TCP ${grouped(b.boardBytesPerTcp)} B (slots x ${result.boardSlotSize} + chunk bytes; chunk bytes are the simulator's, at most that on the board); ` +
			`with static 0 the heaps grow from the ESP32's own heap (${c.slotsIncremental} slots = ${c.slotsIncremental * result.boardSlotSize} B, ${c.chunkIncremental} B chunks at a time) until it runs out`,
		`esp32 XS heap at the default limits (${b.atDefaults.wsClients} WS + ${b.atDefaults.tcpClients} TCP clients, all idle): ${grouped(b.atDefaults.boardBytes)} B`,
	];
	if (result.simCreation)
		out.push(`simulator creation: chunk ${result.simCreation.chunkInitial} +${result.simCreation.chunkIncremental}, ${result.simCreation.slotsInitial} slots +${result.simCreation.slotsIncremental}, static ${result.simCreation.static} (${result.simCreation.source})`);
	if (result.perBlocked) {
		const mib = (bytes: number) => `${Math.round(bytes / 1024 / 1024 * 10) / 10} MiB`;
		out.push(`note: blocked: each client sent ${result.perInFlight.size / KiB} KiB messages without reading until the device stopped reading (${result.perBlocked.sentBytes.map(mib).join(", ")} sent); the row is against the same clients open and idle`);
	}
	for (const note of result.notes)
		out.push(`note: ${note}`);
	const disagreed = Object.entries(r).flatMap(([name, v]) => (Array.isArray(v) ? v.map((x, i) => [`${name}[${i}]`, x] as const) : [[name, v] as const])).filter(([, v]) => !v.agreed);
	if (disagreed.length)
		out.push(`note: no two collections agreed for ${disagreed.map(([name]) => name).join(", ")}: the smallest of three is shown`);
	return `${out.join("\n")}\n`;
}

/* ------------------------------------------------------------- command */

export const memoryUsage = `usage: host-harness bench memory --target sim [options]

Measures the app's XS heaps on the Moddable simulator's debug build through
the xsbug protocol, each reading after a forced full garbage collection
(<step/> to the idle machine: the break collects and samples, then go).
Prints live slots (also in bytes: 32-byte slots on the simulator, 16-byte on
an ESP32) and chunk bytes: the idle app, per idle WebSocket connection, per
idle TCP connection, per in-flight 64 KiB WebSocket message, per connection
whose echo is blocked (every buffer between it and the device full), the
heaps after clients closed and after rounds of faults (resets mid-frame and
mid-stream, clients gone without a Close, a half-close) against idle, and
how many idle clients fit in the default esp32 heaps.

With --churn <n>, instead: n connections through every service of the app
(the WebSocket echo, broadcast and log routes, the page, the TCP and UDP
echo), ended in every way a connection ends, several at once, after a
warm-up round; then the heaps against the warm-up's and what every server,
route and the log still hold (read through xsbug: nothing of it on a board).
Exit status 1 when a run failed, something is still held, or the heaps did
not come back exactly.

options:
  --target sim|lwip   sim (default); lwip (the simulator over lwIP in a network
                      namespace, root only) with --churn
  --churn <n>         the churn, n connections in all (the suite runs 1000)
  --clients <n>       clients per phase (default 4)
  --rounds <n>        fault rounds (default 2)
  --no-blocked        skip the blocked-echo phase (clients send 64 KiB messages without
                      reading until the device stops reading: about a minute)
  --config k=v        device config; bare k=v works too; repeatable
  --json              print the result as JSON instead of the table
  --help

examples:
  host-harness bench memory --target sim
  host-harness bench memory --target sim --clients 8 --json > memory.json
  host-harness bench memory --churn 10000
  host-harness bench memory --churn 1000 --target lwip
`;

export interface MemoryOptions {
	json: boolean;
	settings: MemorySettings;
	config: Record<string, string>;
	/** The churn instead, with this many connections. */
	churn?: number;
	target: "sim" | "lwip";
}

export function parseMemoryArgs(argv: readonly string[]): MemoryOptions | "help" {
	const settings = { ...memoryDefaults };
	const configArgs: string[] = [];
	let json = false;
	let seen = false;
	let churn: number | undefined;
	let target: "sim" | "lwip" = "sim";
	for (let i = 0; i < argv.length; i++) {
		const arg = argv[i];
		const [flag, inline] = arg.startsWith("--") && arg.includes("=") ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)] : [arg, undefined];
		const value = () => inline ?? argv[++i];
		const count = (name: string) => {
			const text = value();
			const n = Number(text);
			if (!Number.isInteger(n) || n < 1)
				throw new Error(`${name} takes a positive whole number, not "${text ?? ""}"`);
			return n;
		};
		switch (flag) {
			case "--help": case "-h": return "help";
			case "--target": case "-t": {
				const name = value();
				if (name !== "sim" && name !== "lwip")
					throw new Error(`bench memory reads XS heaps through the simulator's debug build: --target sim (or lwip with --churn), not "${name ?? ""}"`);
				target = name;
				break;
			}
			case "--churn": churn = count("--churn"); break;
			case "--device":
				throw new Error("bench memory runs on the simulator (--target sim); a board's heaps show in xsbug's instruments");
			case "--clients": case "-c": settings.clients = count("--clients"); break;
			case "--rounds": settings.faultRounds = count("--rounds"); break;
			case "--no-blocked": settings.blocked = false; break;
			case "--json": json = true; break;
			case "--config": configArgs.push(value() ?? ""); break;
			default:
				if (arg === "memory" && !seen)
					seen = true;
				else if (/^\w+=/.test(arg))
					configArgs.push(arg);
				else
					throw new Error(`unknown argument "${arg}"`);
		}
	}
	if (target === "lwip" && churn === undefined)
		throw new Error("bench memory --target lwip runs the churn only: add --churn <n>");
	return { json, settings, config: checkedConfig(configArgs), target, ...(churn !== undefined ? { churn } : {}) };
}

export async function runMemoryBench(argv: string[]): Promise<number> {
	const options = argumentsOr(parseMemoryArgs, argv, memoryUsage);
	if (typeof options === "number")
		return options;
	const status = (text: string) => {
		if (process.stderr.isTTY)
			process.stderr.write(`${text}\n`);
	};
	let memory: MemoryDevice | undefined;
	const onSignal = () => {
		process.stderr.write("\ninterrupted: stopping the device\n");
		void (memory?.stop() ?? Promise.resolve()).finally(() => process.exit(130));
	};
	process.once("SIGINT", onSignal);
	process.once("SIGTERM", onSignal);
	try {
		if (options.churn !== undefined) {
			status(`starting the ${options.target === "lwip" ? "lwip simulator's" : "simulator's"} debug build (mcconfig -d first) …`);
			memory = await startMemoryDevice(await churnDeviceConfig(options.config), { census: true, clock: true, target: options.target });
			const result = await measureChurn(memory, options.churn, status);
			process.stdout.write(options.json ? `${JSON.stringify(result, undefined, 2)}\n` : renderChurn(result, options.target));
			return churnProblems(result).length ? 1 : 0;
		}
		status("starting the simulator's debug build (mcconfig -d first) …");
		const config = await memoryDeviceConfig(options.settings.clients, options.config, options.settings.blocked);
		memory = await startMemoryDevice(config, { clock: true });
		status(`device: ${memory.machine.version}, ${memory.device.endpoints.ws}, tcp ${memory.device.endpoints.tcp?.port}`);
		const result = await measureMemory(memory, options.settings, status);
		const keys = Object.entries(config).filter(([key]) => !/Port$/.test(key)).map(([key, value]) => `${key}=${value}`);
		result.notes.unshift(`device config beyond the defaults: ${keys.join(" ")}${config.wsHeartbeat === "0" ? " (the blocked clients read nothing, so they could answer no ping)" : ""}`);
		process.stdout.write(options.json ? `${JSON.stringify(result, (_, v) => (v === Infinity ? null : v), 2)}\n` : renderMemoryTable(result));
		return 0;
	}
	finally {
		process.off("SIGINT", onSignal);
		process.off("SIGTERM", onSignal);
		await memory?.stop();
	}
}
