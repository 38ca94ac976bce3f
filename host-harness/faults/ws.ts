/*
 * Faulty WebSocket peers for the device's server, on raw sockets after a
 * real handshake (conformance/client.ts RawConnection): each plays one peer
 * that ends badly or behaves badly, and resolves once its part is done.
 *
 *   endMidFrame     sends part of a frame (header only, or part of the
 *                   payload, optionally without reading the echo), then
 *                   resets, FINs or destroys TCP: no Close
 *   trickleHandshake  the upgrade request one byte at a time
 *   mute            completes the handshake, then neither reads nor answers
 *                   pings (a peer gone quiet: only a heartbeat finds it)
 *   floodUpgrades   many upgrades at once: the served ones, the 503s, the
 *                   ones closed before any answer
 */

import { randomBytes } from "node:crypto";
import type * as net from "node:net";
import { newKey, RawConnection, upgradeRequest } from "../conformance/client.js";
import { frame, Op } from "../conformance/frames.js";

function sleep(ms: number): Promise<void> {
	return new Promise(resolve => setTimeout(resolve, ms));
}

export type Ending = "reset" | "fin" | "destroy";

export interface MidFrameOptions {
	/** Bytes of the frame (header included) sent before the end; the frame declares 64 KiB of payload. */
	sendBytes: number;
	ending: Ending;
	/** Leave the server's echo unread (its output backs up). */
	unread?: boolean;
	/** Wait this long between sending and ending (ms). */
	afterMs?: number;
	/** Instead of afterMs: end once the server has echoed something (its reading is under way, not just begun); a bound on that wait (ms). */
	untilEchoMs?: number;
}

/** Open a WebSocket connection with a raw socket (throws when the handshake fails, e.g. 503). */
export function openRaw(url: string, timeoutMs = 5000): Promise<RawConnection> {
	return RawConnection.open(new URL(url), timeoutMs);
}

function end(socket: net.Socket, ending: Ending): void {
	socket.on("error", () => {});
	if (ending === "reset") socket.resetAndDestroy();
	else if (ending === "fin") socket.end();
	else socket.destroy();
}

/**
 * A binary frame declaring 64 KiB, cut after `sendBytes`, then TCP ends
 * without a Close. The client's local port (what the device's log names),
 * or undefined when the handshake was refused (503) or reset: the caller
 * counts served ones. With untilEchoMs, a server that echoes nothing in
 * time makes it throw.
 */
export async function endMidFrame(url: string, options: MidFrameOptions): Promise<number | undefined> {
	let connection: RawConnection;
	try {
		connection = await openRaw(url);
	} catch {
		return undefined;
	}
	const port = connection.socket.localPort!;
	if (options.unread) connection.socket.pause();
	const whole = frame(Op.BINARY, randomBytes(65536));
	connection.socket.write(whole.subarray(0, Math.min(options.sendBytes, whole.length)));
	if (options.untilEchoMs !== undefined) {
		if (!(await connection.waitFor(() => connection.events.length > 0 || connection.assembler.partial !== undefined, options.untilEchoMs)))
			throw new Error(`no echo of the first ${options.sendBytes} bytes of a frame within ${options.untilEchoMs} ms`);
	} else await sleep(options.afterMs ?? 10);
	end(connection.socket, options.ending);
	return port;
}

/** Send an upgrade request a byte at a time, `delayMs` apart; resolves with the HTTP status (0: none before TCP closed). */
export async function trickleHandshake(url: string, delayMs: number, timeoutMs: number): Promise<number> {
	const target = new URL(url);
	const connection = await RawConnection.connect(target, 5000);
	try {
		const request = Buffer.from(upgradeRequest(target, newKey()));
		await connection.write(request, { chunk: 1, delayMs });
		const head = await connection.readHead(timeoutMs);
		return head?.status ?? 0;
	} finally {
		connection.destroy();
	}
}

/** Complete the handshake, then go mute: read nothing, answer no ping. The caller destroys it. */
export async function mute(url: string): Promise<RawConnection> {
	const connection = await openRaw(url);
	connection.socket.pause();
	connection.socket.removeAllListeners("data"); // RawConnection would answer pings
	return connection;
}

/** Whether the server closed this connection (FIN or reset) within `timeoutMs`. */
export function closedByServer(connection: RawConnection, timeoutMs: number): Promise<boolean> {
	return new Promise(resolve => {
		const socket = connection.socket;
		if (socket.destroyed || socket.readableEnded) return resolve(true);
		const timer = setTimeout(() => resolve(false), timeoutMs);
		const done = () => {
			clearTimeout(timer);
			resolve(true);
		};
		socket.once("end", done);
		socket.once("close", done);
		socket.once("error", done);
		// Paused sockets do not see the FIN: let the bytes flow into the void
		// (only a mute connection's; a RawConnection's own reader is gone).
		if (!socket.listenerCount("data")) socket.on("data", () => {});
		socket.resume();
	});
}

export interface UpgradeFloodResult {
	/** Upgraded (101). */
	served: number;
	/** Answered 503. */
	busy: number;
	/** Closed or reset before any HTTP answer. */
	dropped: number;
	/** Any other answer (each a failure of the server's rules). */
	other: number[];
}

/** `count` upgrade requests at once; each connection is destroyed after `holdMs`. */
export async function floodUpgrades(url: string, count: number, holdMs: number): Promise<UpgradeFloodResult> {
	const target = new URL(url);
	const result: UpgradeFloodResult = { served: 0, busy: 0, dropped: 0, other: [] };
	const connections = await Promise.all(
		Array.from({ length: count }, async () => {
			try {
				const connection = await RawConnection.connect(target, 5000);
				connection.socket.write(upgradeRequest(target, newKey()));
				return connection;
			} catch {
				return undefined;
			}
		}),
	);
	await Promise.all(
		connections.map(async connection => {
			const head = connection ? await connection.readHead(holdMs) : undefined;
			if (!head) result.dropped++;
			else if (head.status === 101) result.served++;
			else if (head.status === 503) result.busy++;
			else result.other.push(head.status);
		}),
	);
	for (const connection of connections) connection?.destroy();
	return result;
}
