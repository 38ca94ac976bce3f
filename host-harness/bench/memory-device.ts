/*
 * The device a memory bench measures and what it does to it: a simulator
 * debug build booted with its xsbug link (startMemoryDevice), idle WebSocket
 * and TCP clients opened and closed, messages left in flight or blocked, and
 * the fault cases (resets mid-frame, a destroy without a Close, a half-close)
 * each waited for until the device logged every connection closed.
 */

import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import type * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import type WebSocket from "ws";
import type { App } from "../device/app.js";
import { type Endpoint, type Endpoints, type RunningDevice, startDevice } from "../device/targets.js";
import { reset } from "../faults/tcp.js";
import { endMidFrame } from "../faults/ws.js";
import { createLink } from "../lib/netns.js";
import { startNetnsRelay } from "../lib/netns-relay.js";
import { freeServicePorts } from "../lib/ports.js";
import { connect, readBytes, sha256 } from "../oracle/tcp-echo.js";
import { closed, nextMessage, openWs } from "../oracle/ws-echo.js";
import { SntpServer } from "../peers/sntp.js";
import { XsbugLogServer, type XsbugMachine } from "../xsbug/log-server.js";
import { censusPrograms } from "./census.js";
import { HeapProbe } from "./heap.js";
import { KiB } from "./stats.js";

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
		...(await freeServicePorts()),
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
	/** A user's app on the kit instead of the kit's own (device/app.ts), on the simulator: it logs its own `services up` line. */
	app?: App;
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
		for (const step of undo.splice(0).reverse()) await step();
	};
	const clock = async (address: string) => {
		if (!options.clock) return config;
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
			device = await startDevice({
				target: "lwip",
				config: await clock(link.hostAddress),
				lan: link,
				xsbugPort: relay.port,
				readyTimeoutMs: 120_000,
				app: options.app,
			});
		} else device = await startDevice({ target: "sim", config: await clock("127.0.0.1"), xsbugPort: await server.start(0, "127.0.0.1"), app: options.app });
		undo.push(() => device.stop());
		const machine = await server.waitForMachine(20_000);
		await server.waitForLog(/app: services up/, 20_000);
		if (options.clock) await server.waitForLog(/sntp: clock set/, 30_000);
		return { device, server, machine, probe: new HeapProbe(server, machine), stop };
	} catch (e) {
		await stop();
		throw e;
	}
}

/* -------------------------------------------------------------- clients */

export const sleep = (ms: number) => new Promise<void>(resolve => setTimeout(resolve, ms));

/** After the last "Connection closed" (or the last client opened), let the device finish its callbacks before a reading. */
export const settleAfterCloseMs = 300;

function localPort(socket: net.Socket | undefined): number {
	const port = socket?.localPort;
	if (!port) throw new Error("a client socket has no local port");
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
			if (!(await back).data.equals(message)) throw new Error("a WebSocket echo came back different");
		}
	} catch (e) {
		for (const ws of sockets) ws.terminate();
		throw e;
	}
	return { sockets, ports: sockets.map(wsPort) };
}

/** Close with a Close handshake and wait until the device has logged them closed. */
export async function closeWs(server: XsbugLogServer, clients: WsClients, since: number): Promise<void> {
	await Promise.all(
		clients.sockets.map(ws => {
			const done = closed(ws);
			ws.close(1000, "done");
			return done;
		}),
	);
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
			if (!(await back).equals(message)) throw new Error("a TCP echo came back different");
		}
	} catch (e) {
		for (const socket of sockets) socket.destroy();
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
	for (const socket of clients.sockets) socket.destroy();
}

/**
 * Each client pauses its socket (reads nothing more) and sends one binary
 * message of `size` bytes; resolves once the device has logged each message
 * received whole, or after settleMs, with how many it did. The echoes then
 * wait in the paused sockets, the device's socket buffers or its queue.
 */
export async function sendInFlight(
	server: XsbugLogServer,
	clients: WsClients,
	size: number,
	settleMs = 3000,
): Promise<{ messages: Buffer[]; receivedWhole: number }> {
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
			await server.waitForLog(new RegExp(`Received binary message of ${size} bytes from 127\\.0\\.0\\.1:${port}(?!\\d)`), Math.max(1, deadline - Date.now()), {
				since,
			});
			receivedWhole++;
		} catch {
			// still in flight towards the device: its echo is blocked
		}
	}
	return { messages, receivedWhole };
}

/** Resume the paused clients and check that each gets its message back whole. */
export async function drainInFlight(clients: WsClients, messages: Buffer[]): Promise<void> {
	await Promise.all(
		clients.sockets.map(async (ws, i) => {
			const back = nextMessage(ws, 30_000);
			ws.resume();
			const { data } = await back;
			if (sha256(data) !== sha256(messages[i])) throw new Error(`an in-flight ${messages[i].length}-byte message came back different (${data.length} bytes)`);
		}),
	);
}

/**
 * Each client pauses its socket and sends `size`-byte binary messages, two
 * at most not yet received whole by the device, until the device has
 * received none of its messages for stallMs: every buffer between them is
 * full and the device's echo is blocked, its write queue held. Resolves with
 * the messages each client sent. Gives up on a client after maxBytes.
 */
export async function sendUntilBlocked(
	server: XsbugLogServer,
	clients: WsClients,
	size: number,
	options: { stallMs?: number; maxBytes?: number; timeoutMs?: number } = {},
): Promise<{ sent: number[]; blocked: boolean[] }> {
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
		if (gone && clients.ports.includes(Number(gone[1]))) closedLine ??= log.text;
	};
	server.on("log", onLog);
	const payload = randomBytes(size);
	const deadline = Date.now() + timeoutMs;
	try {
		for (const ws of clients.sockets) ws.pause();
		for (;;) {
			if (closedLine)
				throw new Error(`the device closed a client while its echo was being blocked (wsHeartbeat on? a paused client answers no ping): ${closedLine}`);
			const now = Date.now();
			const blocked = clients.sockets.map((_, i) => sent[i] > received[i] && now - progressAt[i] >= stallMs);
			const spent = sent.map(count => count * size >= maxBytes);
			if (blocked.every((b, i) => b || spent[i])) return { sent, blocked };
			if (now > deadline) throw new Error(`the device kept reading for ${timeoutMs} ms (messages sent: ${sent.join(", ")})`);
			clients.sockets.forEach((ws, i) => {
				if (!blocked[i] && !spent[i] && sent[i] - received[i] < 2 && ws.bufferedAmount < size) {
					ws.send(payload, { binary: true });
					if (sent[i]++ === received[i]) progressAt[i] = now;
				}
			});
			await sleep(20);
		}
	} finally {
		server.off("log", onLog);
	}
}

/** Terminate the clients (no Close; unread echoes make it a reset) and wait until the device has logged them closed. */
export async function dropWs(server: XsbugLogServer, clients: WsClients, since: number): Promise<void> {
	for (const ws of clients.sockets) ws.terminate();
	await waitClosed(server, clients.ports, since, 30_000);
}

/* --------------------------------------------------------------- faults */

export interface FaultCase {
	name: string;
	/** Put the device's connections through the fault; resolves with the client ports the device must log closed. */
	run(endpoints: Endpoints): Promise<number[]>;
}

export function wsUrl(endpoints: Endpoints): string {
	if (!endpoints.ws) throw new Error("the device reports no WebSocket endpoint");
	return endpoints.ws;
}

export function tcpEndpoint(endpoints: Endpoints): Endpoint {
	if (!endpoints.tcp) throw new Error("the device reports no TCP echo server");
	return endpoints.tcp;
}

/** Ports of clients every one of which was served (a refused one is no fault case: the bench's device must serve them all). */
function served(ports: (number | undefined)[], what: string): number[] {
	if (ports.some(port => port === undefined)) throw new Error(`${what}: the device refused a client`);
	return ports as number[];
}

/** n WebSocket clients each send part of a 64 KiB binary frame, see part of its echo, and reset (RST): faults/ws endMidFrame. */
export function wsResetMidFrame(n: number): FaultCase {
	return {
		name: `${n} WS clients reset mid-frame`,
		async run(endpoints) {
			// 64-bit length form: 2 + 8 + mask 4, then 4 KiB of the payload.
			const ports = await Promise.all(
				Array.from({ length: n }, () => endMidFrame(wsUrl(endpoints), { sendBytes: 14 + 4 * KiB, ending: "reset", untilEchoMs: 5000 })),
			);
			return served(ports, this.name);
		},
	};
}

/** n `ws` clients, each echoed once, destroyed without a Close (FIN, no closing handshake). */
export function wsDestroyedWithoutClose(n: number): FaultCase {
	return {
		name: `${n} WS clients destroyed without a Close`,
		async run(endpoints) {
			const clients = await openIdleWs(wsUrl(endpoints), n);
			for (const ws of clients.sockets) ws.terminate();
			return clients.ports;
		},
	};
}

/** n TCP clients stream 32 KiB, see the first KiB of the echo, and reset (RST): faults/tcp reset. */
export function tcpResetMidStream(n: number): FaultCase {
	return {
		name: `${n} TCP clients reset mid-stream`,
		async run(endpoints) {
			const ports = await Promise.all(Array.from({ length: n }, () => reset(tcpEndpoint(endpoints), 32 * KiB, 0, KiB)));
			return served(ports, this.name);
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
	} catch (e) {
		throw new Error(`${fault.name}: the device did not close every connection: ${(e as Error).message}`);
	}
	await sleep(settleAfterCloseMs);
}

/* -------------------------------------------------------------- the run */
