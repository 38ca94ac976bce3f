/*
 * After a fault: is the device still whole? Two questions every reliability
 * case ends with:
 *
 * - Is a fresh client served, byte for byte, on every service the device
 *   runs (TCP echo, WebSocket echo, UDP echo)? A refused, reset or 503'd
 *   attempt is retried until a deadline: what is judged is that service
 *   comes back by then, not how fast an echo is.
 * - Are the device's resources back where they were? The Node-hosted
 *   device answers through its control channel (sockets, listeners, UDP
 *   sockets, timers); the simulator is a Linux process, so its open socket
 *   descriptors are counted in /proc. A board has neither: undefined.
 */

import * as fs from "node:fs";
import WebSocket from "ws";
import type { Endpoints } from "../device/targets.js";
import { echoOnce, randomPayload, sha256 } from "./tcp-echo.js";
import { udpSender } from "./udp-echo.js";

/** What a device holds, by kind; compared as a whole against a baseline. */
export type Resources = Record<string, number>;

export interface ResourceSource {
	target: string;
	/** The device process (node, sim). */
	pid?: number;
	/** The Node-hosted device's control channel. */
	control?: (command: string) => Promise<Record<string, unknown>>;
}

/** The device's resources now, or undefined where they cannot be read (a board). */
export async function deviceResources(source: ResourceSource): Promise<Resources | undefined> {
	if (source.control) {
		const stats = await source.control("stats");
		return { tcp: Number(stats.tcp), listeners: Number(stats.listeners), udp: Number(stats.udp), timers: Number(stats.timers) };
	}
	if (source.target === "sim" && source.pid) return { sockets: openSockets(source.pid) };
	return undefined;
}

/** Socket descriptors a Linux process holds open. */
export function openSockets(pid: number): number {
	let count = 0;
	for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
		try {
			if (fs.readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith("socket:")) count++;
		} catch {
			// closed while we looked
		}
	}
	return count;
}

function sleep(ms: number): Promise<void> {
	return new Promise(resolve => setTimeout(resolve, ms));
}

function same(a: Resources, b: Resources): boolean {
	return Object.keys(a).length === Object.keys(b).length && Object.keys(a).every(k => a[k] === b[k]);
}

/**
 * Wait until the device's resources equal `baseline` again; resolves with the
 * last reading (equal, or what it still held at the deadline, for the
 * assertion to show). undefined where resources cannot be read.
 */
export async function resourcesSettled(source: ResourceSource, baseline: Resources | undefined, timeoutMs = 10_000): Promise<Resources | undefined> {
	if (!baseline) return undefined;
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const now = await deviceResources(source);
		if (!now || same(now, baseline) || Date.now() > deadline) return now;
		await sleep(50);
	}
}

export interface FreshClientOptions {
	/** Keep trying (refused, reset, 503) until this long has passed (ms). */
	withinMs: number;
	/** One attempt's own deadline for its echo (ms). */
	echoTimeoutMs?: number;
}

/** A fresh TCP client gets 3000 random bytes back exactly; resolves with the ms it took to be served. */
export async function freshTcpClientServed(endpoints: Endpoints, options: FreshClientOptions): Promise<number> {
	const start = Date.now();
	const payload = randomPayload(3000);
	let last: unknown;
	for (;;) {
		try {
			const back = await echoOnce(endpoints.tcp!, payload, Math.max(500, Math.min(options.echoTimeoutMs ?? 5000, start + options.withinMs - Date.now())));
			if (sha256(back) === sha256(payload)) return Date.now() - start;
			last = new Error(`echo differs: ${back.length} bytes back for ${payload.length}`);
		} catch (e) {
			last = e;
		}
		if (Date.now() - start > options.withinMs) throw new Error(`no fresh TCP client served within ${options.withinMs} ms: ${(last as Error)?.message ?? last}`);
		await sleep(25);
	}
}

/** One WebSocket echo of a text and a binary message on a fresh connection. */
export function wsEchoOnce(url: string, timeoutMs: number): Promise<void> {
	return new Promise((resolve, reject) => {
		const socket = new WebSocket(url, { handshakeTimeout: timeoutMs });
		const binary = randomPayload(200);
		let stage = 0;
		const timer = setTimeout(() => finish(new Error(`no WebSocket echo within ${timeoutMs} ms`)), timeoutMs);
		const finish = (error?: Error) => {
			clearTimeout(timer);
			socket.removeAllListeners();
			socket.on("error", () => {});
			socket.terminate();
			if (error) reject(error);
			else resolve();
		};
		socket.once("unexpected-response", (_request, response) => finish(new Error(`HTTP ${response.statusCode}`)));
		socket.once("error", e => finish(e));
		socket.once("close", code => finish(new Error(`closed (${code}) before the echo`)));
		socket.once("open", () => socket.send("fresh client"));
		socket.on("message", (data, isBinary) => {
			const bytes = Buffer.isBuffer(data) ? data : Buffer.concat(data as Buffer[]);
			if (stage === 0) {
				if (isBinary || bytes.toString() !== "fresh client") return finish(new Error(`text echo differs: ${bytes.toString().slice(0, 40)}`));
				stage = 1;
				socket.send(binary);
			} else if (!isBinary || sha256(bytes) !== sha256(binary)) finish(new Error("binary echo differs"));
			else finish();
		});
	});
}

/** A fresh WebSocket client is served (text and binary echo); resolves with the ms it took. */
export async function freshWsClientServed(endpoints: Endpoints, options: FreshClientOptions): Promise<number> {
	const start = Date.now();
	let last: unknown;
	for (;;) {
		try {
			await wsEchoOnce(endpoints.ws!, Math.max(500, Math.min(options.echoTimeoutMs ?? 5000, start + options.withinMs - Date.now())));
			return Date.now() - start;
		} catch (e) {
			last = e;
		}
		if (Date.now() - start > options.withinMs)
			throw new Error(`no fresh WebSocket client served within ${options.withinMs} ms: ${(last as Error)?.message ?? last}`);
		await sleep(25);
	}
}

/** A `ws` client to the URL, retried until served (not refused or answered 503) or the deadline. */
export async function openServedWs(url: string, withinMs: number): Promise<WebSocket> {
	const start = Date.now();
	for (;;) {
		try {
			return await new Promise<WebSocket>((resolve, reject) => {
				const socket = new WebSocket(url, { handshakeTimeout: Math.max(500, withinMs) });
				socket.once("open", () => resolve(socket));
				socket.once("error", reject);
				socket.once("unexpected-response", (_request, response) => {
					socket.on("error", () => {});
					socket.terminate();
					reject(new Error(`HTTP ${response.statusCode}`));
				});
			});
		} catch (e) {
			if (Date.now() - start > withinMs) throw new Error(`no WebSocket connection served within ${withinMs} ms: ${(e as Error).message}`);
			await sleep(25);
		}
	}
}

/** A fresh UDP sender gets its datagram back. */
export async function freshUdpSenderServed(endpoints: Endpoints, options: FreshClientOptions): Promise<number> {
	const start = Date.now();
	const sender = await udpSender(endpoints.udp!);
	try {
		const payload = randomPayload(100);
		for (;;) {
			try {
				const { data } = await sender.echo(payload, 1000);
				if (sha256(data) === sha256(payload)) return Date.now() - start;
			} catch {
				// lost or late: try again
			}
			if (Date.now() - start > options.withinMs) throw new Error(`no UDP echo within ${options.withinMs} ms`);
		}
	} finally {
		sender.close();
	}
}

/** Every service the device runs serves a fresh client within the deadline. */
export async function freshClientsServed(endpoints: Endpoints, options: FreshClientOptions): Promise<void> {
	if (endpoints.tcp) await freshTcpClientServed(endpoints, options);
	if (endpoints.ws) await freshWsClientServed(endpoints, options);
	if (endpoints.udp) await freshUdpSenderServed(endpoints, options);
}
