/*
 * TCP echo checks from the harness side: send bytes to a device's echo
 * server and collect exactly as many back, with a deadline.
 */

import * as net from "node:net";
import { createHash, randomBytes } from "node:crypto";
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

/** Read exactly `count` bytes (or fail on close, error or deadline). */
export function readBytes(socket: net.Socket, count: number, timeoutMs = 10_000): Promise<Buffer> {
	return new Promise((resolve, reject) => {
		const chunks: Buffer[] = [];
		let have = 0;
		const done = (error?: Error) => {
			clearTimeout(timer);
			socket.off("data", onData);
			socket.off("close", onClose);
			socket.off("error", onError);
			if (error)
				reject(error);
			else
				resolve(Buffer.concat(chunks, count));
		};
		const onData = (chunk: Buffer) => {
			chunks.push(chunk);
			have += chunk.length;
			if (have >= count) {
				if (have > count) {
					// keep the surplus for the next read
					const all = Buffer.concat(chunks);
					chunks.length = 0;
					chunks.push(all.subarray(0, count));
					socket.unshift(all.subarray(count));
				}
				done();
			}
		};
		const onClose = () => done(new Error(`connection closed after ${have} of ${count} bytes`));
		const onError = (e: Error) => done(e);
		const timer = setTimeout(() => done(new Error(`only ${have} of ${count} bytes within ${timeoutMs} ms`)), timeoutMs);
		socket.on("data", onData);
		socket.once("close", onClose);
		socket.once("error", onError);
		if (count === 0)
			done();
	});
}

/** Send a payload and wait for its echo; resolves with what came back. */
export async function echoOnce(endpoint: Endpoint, payload: Uint8Array, timeoutMs = 10_000): Promise<Buffer> {
	const socket = await connect(endpoint);
	try {
		const back = readBytes(socket, payload.length, timeoutMs);
		socket.write(payload);
		return await back;
	}
	finally {
		socket.destroy();
	}
}
