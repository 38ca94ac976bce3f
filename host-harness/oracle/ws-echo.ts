/*
 * WebSocket checks from the harness side, on the real `ws` client: open a
 * connection to the device's echo server, send, and collect the echo.
 */

import * as net from "node:net";
import WebSocket from "ws";

/** The TCP endpoint of a ws:// URL (a URL elides port 80, its default). */
export function wsEndpoint(url: string): { host: string; port: number } {
	const parsed = new URL(url);
	return { host: parsed.hostname, port: Number(parsed.port || 80) };
}

export function openWs(url: string, options: WebSocket.ClientOptions = {}, timeoutMs = 10_000): Promise<WebSocket> {
	return new Promise((resolve, reject) => {
		const socket = new WebSocket(url, { handshakeTimeout: timeoutMs, ...options });
		socket.once("open", () => resolve(socket));
		socket.once("error", reject);
		socket.once("unexpected-response", (_request, response) => reject(new Error(`HTTP ${response.statusCode}`)));
	});
}

export function nextMessage(socket: WebSocket, timeoutMs = 10_000): Promise<{ data: Buffer; binary: boolean }> {
	return new Promise((resolve, reject) => {
		const timer = setTimeout(() => reject(new Error(`no WebSocket message within ${timeoutMs} ms`)), timeoutMs);
		socket.once("message", (data, binary) => {
			clearTimeout(timer);
			resolve({ data: Buffer.isBuffer(data) ? data : Buffer.concat(data as Buffer[]), binary });
		});
		socket.once("close", code => {
			clearTimeout(timer);
			reject(new Error(`closed (${code}) before a message`));
		});
	});
}

export function closed(socket: WebSocket, timeoutMs = 10_000): Promise<{ code: number; reason: string }> {
	return new Promise((resolve, reject) => {
		if (socket.readyState === WebSocket.CLOSED) return resolve({ code: 1006, reason: "" });
		const timer = setTimeout(() => reject(new Error(`not closed within ${timeoutMs} ms`)), timeoutMs);
		socket.once("close", (code, reason) => {
			clearTimeout(timer);
			resolve({ code, reason: reason.toString() });
		});
	});
}

/** Send a raw HTTP request head and return the response's status line and headers. */
export function rawHttp(
	host: string,
	port: number,
	head: string,
	timeoutMs = 10_000,
): Promise<{ status: number; headers: Record<string, string>; text: string }> {
	return new Promise((resolve, reject) => {
		const socket = net.connect({ host, port });
		let text = "";
		const timer = setTimeout(() => {
			socket.destroy();
			reject(new Error(`no HTTP answer within ${timeoutMs} ms`));
		}, timeoutMs);
		socket.on("connect", () => socket.write(head));
		socket.on("data", chunk => {
			text += chunk.toString("latin1");
		});
		socket.on("error", () => {});
		socket.on("close", () => {
			clearTimeout(timer);
			const [statusLine, ...lines] = text.split("\r\n\r\n")[0].split("\r\n");
			const headers: Record<string, string> = {};
			for (const line of lines) {
				const colon = line.indexOf(":");
				if (colon > 0) headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
			}
			resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(statusLine ?? "")?.[1] ?? 0), headers, text });
		});
	});
}
