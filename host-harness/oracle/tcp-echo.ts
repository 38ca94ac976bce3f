/*
 * TCP echo checks from the harness side: send bytes to a device's echo
 * server and collect exactly as many back, with a deadline.
 */

import { createHash, randomBytes } from "node:crypto";
import * as net from "node:net";
import type { Endpoint } from "../device/targets.js";

export function sha256(data: Uint8Array): string {
	return createHash("sha256").update(data).digest("hex");
}

export function randomPayload(size: number): Buffer {
	return randomBytes(size);
}

export function connect(endpoint: Endpoint, timeoutMs = 5000): Promise<net.Socket> {
	return new Promise((resolve, reject) => {
		const socket = net.connect({ host: endpoint.host, port: endpoint.port });
		const timer = setTimeout(() => {
			socket.destroy();
			reject(new Error(`connect to ${endpoint.host}:${endpoint.port} timed out after ${timeoutMs} ms`));
		}, timeoutMs);
		socket.once("connect", () => {
			clearTimeout(timer);
			resolve(socket);
		});
		socket.once("error", e => {
			clearTimeout(timer);
			reject(e);
		});
	});
}

/** Sockets paused by readBytes with bytes beyond its count put back: the next readBytes resumes them. */
const surplusHeld = new WeakSet<net.Socket>();

/** Read exactly `count` bytes (or fail on close, error or deadline); bytes beyond them wait for the next read. */
export function readBytes(socket: net.Socket, count: number, timeoutMs = 10_000): Promise<Buffer> {
	return new Promise((resolve, reject) => {
		const chunks: Buffer[] = [];
		let have = 0;
		const done = (error?: Error) => {
			clearTimeout(timer);
			socket.off("data", onData);
			socket.off("close", onClose);
			socket.off("error", onError);
			if (error) reject(error);
			else resolve(Buffer.concat(chunks, count));
		};
		const onData = (chunk: Buffer) => {
			chunks.push(chunk);
			have += chunk.length;
			if (have >= count) {
				if (have > count) {
					// Keep the surplus for the next read: this listener goes first (unshift on a flowing socket
					// emits again at once, to it), and the socket pauses so the bytes wait in its buffer.
					const all = Buffer.concat(chunks);
					chunks.length = 0;
					chunks.push(all.subarray(0, count));
					done();
					socket.pause();
					surplusHeld.add(socket);
					socket.unshift(all.subarray(count));
				} else done();
			}
		};
		const onClose = () => done(new Error(`connection closed after ${have} of ${count} bytes`));
		const onError = (e: Error) => done(e);
		const timer = setTimeout(() => done(new Error(`only ${have} of ${count} bytes within ${timeoutMs} ms`)), timeoutMs);
		socket.on("data", onData);
		socket.once("close", onClose);
		socket.once("error", onError);
		if (count === 0) done();
		else if (surplusHeld.delete(socket)) socket.resume();
	});
}

/** Send a payload and wait for its echo; resolves with what came back. */
export async function echoOnce(endpoint: Endpoint, payload: Uint8Array, timeoutMs = 10_000): Promise<Buffer> {
	const socket = await connect(endpoint);
	try {
		const back = readBytes(socket, payload.length, timeoutMs);
		socket.write(payload);
		return await back;
	} finally {
		socket.destroy();
	}
}

/** Send a payload and half-close (FIN), then collect everything until the server closes, with a deadline. */
export function sendAndCollect(endpoint: Endpoint, payload: Uint8Array | string, timeoutMs = 10_000): Promise<Buffer> {
	return new Promise((resolve, reject) => {
		const socket = net.connect({ host: endpoint.host, port: endpoint.port }, () => socket.end(payload));
		const chunks: Buffer[] = [];
		socket.on("data", chunk => chunks.push(chunk));
		socket.once("error", reject);
		socket.once("close", () => resolve(Buffer.concat(chunks)));
		socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`no close within ${timeoutMs} ms`)));
	});
}

export interface StreamOptions {
	/** Pause reading for pauseMs after every pauseEvery bytes received (a slow reader). */
	pauseEvery: number;
	pauseMs: number;
	timeoutMs: number;
	/** Called about every 100 ms while streaming. */
	onProgress?: (sent: number, received: number) => void;
}

export interface StreamResult {
	sent: number;
	received: number;
	sentHash: string;
	receivedHash: string;
	seconds: number;
}

/**
 * Stream `total` bytes through a TCP echo while reading the echo slowly, and
 * compare what went out with what came back by length and SHA-256. The
 * writer honours back-pressure, so if the echo stops reading, so do we.
 */
export async function streamThroughEcho(endpoint: Endpoint, total: number, options: StreamOptions): Promise<StreamResult> {
	const socket = await connect(endpoint);
	const block = randomBytes(1024 * 1024 + 7); // an odd size, so block edges never line up with socket reads
	const sentHash = createHash("sha256");
	const receivedHash = createHash("sha256");
	let sent = 0;
	let received = 0;
	let sinceP = 0;
	const start = Date.now();
	const progress = options.onProgress ? setInterval(() => options.onProgress!(sent, received), 100) : undefined;
	try {
		await new Promise<void>((resolve, reject) => {
			const timer = setTimeout(
				() => reject(new Error(`stream: ${received} of ${total} bytes back (${sent} sent) within ${options.timeoutMs} ms`)),
				options.timeoutMs,
			);
			socket.on("data", (chunk: Buffer) => {
				receivedHash.update(chunk);
				received += chunk.length;
				sinceP += chunk.length;
				if (received > total) {
					clearTimeout(timer);
					reject(new Error(`the echo returned more bytes (${received}) than were sent (${total})`));
				} else if (received === total) {
					clearTimeout(timer);
					resolve();
				} else if (sinceP >= options.pauseEvery) {
					sinceP = 0;
					socket.pause();
					setTimeout(() => socket.resume(), options.pauseMs);
				}
			});
			socket.once("close", () => {
				clearTimeout(timer);
				reject(new Error(`connection closed after ${received} of ${total} bytes back`));
			});
			socket.once("error", e => {
				clearTimeout(timer);
				reject(e);
			});
			let offset = 0;
			const write = () => {
				while (sent < total) {
					const size = Math.min(64 * 1024, total - sent, block.length - offset);
					const piece = block.subarray(offset, offset + size);
					offset = (offset + size) % block.length;
					sentHash.update(piece);
					sent += size;
					if (!socket.write(piece)) {
						socket.once("drain", write);
						return;
					}
				}
			};
			write();
		});
	} finally {
		if (progress) clearInterval(progress);
		socket.destroy();
	}
	return { sent, received, sentHash: sentHash.digest("hex"), receivedHash: receivedHash.digest("hex"), seconds: (Date.now() - start) / 1000 };
}
