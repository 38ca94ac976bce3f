/*
 * Faulty TCP peers for the device's servers: each function plays one peer
 * that ends badly, on a real socket, and resolves once its part is done.
 * The reliability suites and the soak mix them; what the device must do
 * after each (free the slot, serve the next client) is judged by the caller
 * with oracle/health.ts.
 *
 *   reset      sends some bytes, then resets (RST) without reading
 *   vanish     sends, leaves the echo unread, closes (the kernel resets:
 *              unread data)
 *   halfClose  sends, then FIN; collects the whole echo and the server's close
 *   silent     connects and says nothing
 *   flood      many connections at once, each closed again after a moment
 */

import { randomBytes } from "node:crypto";
import * as net from "node:net";
import type { Endpoint } from "../device/targets.js";

function sleep(ms: number): Promise<void> {
	return new Promise(resolve => setTimeout(resolve, ms));
}

/** A connected socket, or undefined if the server refused or reset it first. */
export function tryConnect(endpoint: Endpoint, timeoutMs = 5000): Promise<net.Socket | undefined> {
	return new Promise(resolve => {
		const socket = net.connect({ host: endpoint.host, port: endpoint.port });
		const timer = setTimeout(() => {
			socket.destroy();
			resolve(undefined);
		}, timeoutMs);
		socket.on("error", () => {});
		socket.once("connect", () => {
			clearTimeout(timer);
			resolve(socket);
		});
		socket.once("close", () => {
			clearTimeout(timer);
			resolve(undefined);
		});
	});
}

/**
 * Send `bytes` random bytes, wait `afterMs` (or, with `untilEcho`, until
 * that many bytes came back, within 5 s: the echo is under way), then reset
 * the connection. The client's local port; undefined when it did not connect.
 */
export async function reset(endpoint: Endpoint, bytes: number, afterMs = 10, untilEcho = 0): Promise<number | undefined> {
	const socket = await tryConnect(endpoint);
	if (!socket) return undefined;
	const port = socket.localPort!;
	socket.on("error", () => {});
	let echoed = 0;
	const echoedEnough = untilEcho
		? new Promise<void>((resolve, reject) => {
				const timer = setTimeout(() => reject(new Error(`no echo of ${untilEcho} bytes within 5000 ms`)), 5000);
				socket.on("data", (chunk: Buffer) => {
					echoed += chunk.length;
					if (echoed >= untilEcho) {
						clearTimeout(timer);
						resolve();
					}
				});
			})
		: undefined;
	if (bytes) socket.write(randomBytes(bytes));
	if (untilEcho) await echoedEnough;
	else await sleep(afterMs);
	socket.resetAndDestroy();
	return port;
}

/** Send `bytes`, never read the echo, close after `afterMs` (unread data: the kernel answers with a reset). */
export async function vanish(endpoint: Endpoint, bytes: number, afterMs = 10): Promise<void> {
	const socket = await tryConnect(endpoint);
	if (!socket) return;
	socket.pause();
	socket.write(randomBytes(bytes));
	await sleep(afterMs);
	socket.destroy();
}

export interface HalfCloseResult {
	sent: Buffer;
	received: Buffer;
	/** The server closed its side (FIN or reset) after the echo. */
	closed: boolean;
}

/** Send `bytes` and FIN at once; collect everything the server sends until it closes (or the deadline). */
export async function halfClose(endpoint: Endpoint, bytes: number, timeoutMs = 20_000): Promise<HalfCloseResult> {
	const sent = randomBytes(bytes);
	const socket = await tryConnect(endpoint);
	if (!socket) return { sent, received: Buffer.alloc(0), closed: false };
	const chunks: Buffer[] = [];
	return new Promise(resolve => {
		const finish = (closed: boolean) => {
			clearTimeout(timer);
			socket.destroy();
			resolve({ sent, received: Buffer.concat(chunks), closed });
		};
		const timer = setTimeout(() => finish(false), timeoutMs);
		socket.on("data", chunk => chunks.push(chunk));
		socket.once("end", () => finish(true));
		socket.once("close", () => finish(true));
		socket.end(sent);
	});
}

/** Connect and say nothing; resolves with the socket (the caller ends it). */
export async function silent(endpoint: Endpoint): Promise<net.Socket | undefined> {
	return tryConnect(endpoint);
}

export interface FloodResult {
	/** Connections the server accepted and kept open for `holdMs`. */
	held: number;
	/** Connections refused, reset or closed by the server within `holdMs`. */
	turnedAway: number;
}

/** Open `count` connections at once, each sending a little; after `holdMs` destroy them all. */
export async function flood(endpoint: Endpoint, count: number, holdMs: number): Promise<FloodResult> {
	const sockets = await Promise.all(Array.from({ length: count }, () => tryConnect(endpoint)));
	const closedEarly = new Set<net.Socket>();
	for (const socket of sockets) {
		if (!socket) continue;
		socket.on("close", () => closedEarly.add(socket));
		socket.on("end", () => closedEarly.add(socket));
		socket.write("flood");
	}
	await sleep(holdMs);
	// A socket the server closed before the last connect completed (lwIP drops SYNs while its
	// control blocks are taken, so the connects take seconds) ended before its handlers were on.
	const held = sockets.filter(s => s && !closedEarly.has(s) && !s.destroyed && !s.readableEnded).length;
	for (const socket of sockets) socket?.destroy();
	return { held, turnedAway: count - held };
}
