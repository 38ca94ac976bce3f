/*
 * The churn's clients: a quiet `ws` client, a raw one, a socket watched
 * until the device closes it, the ports each used (what the runner waits
 * for in the device's log), and one exchange per WebSocket route.
 */

import { randomBytes } from "node:crypto";
import * as net from "node:net";
import WebSocket from "ws";
import { newKey, RawConnection, upgradeRequest } from "../conformance/client.js";
import { frame, Op } from "../conformance/frames.js";
import type { Endpoint } from "../device/targets.js";
import { closed } from "../oracle/ws-echo.js";
import { type ChurnTarget, type Service, sleep, WAIT } from "./churn-case.js";

export function wsUrl(target: ChurnTarget, path: string): string {
	return `ws://${target.host}:${target.wsPort}${path}`;
}

function portOf(socket: net.Socket | undefined): number {
	const port = socket?.localPort;
	if (!port) throw new Error("a client socket has no local port");
	return port;
}

export function wsPort(ws: WebSocket): number {
	return portOf((ws as unknown as { _socket?: net.Socket })._socket);
}

/** A `ws` client: its local port (read while it is open), and the messages it got from the first one on. */
export interface WsClient {
	ws: WebSocket;
	port: number;
	messages: Buffer[];
	/** The next message not taken yet. */
	next(): Promise<Buffer>;
}

export async function openQuiet(url: string): Promise<WsClient> {
	const messages: Buffer[] = [];
	let taken = 0;
	let wake: (() => void) | undefined;
	const ws = new WebSocket(url, { handshakeTimeout: WAIT });
	ws.on("error", () => undefined);
	// Listening from the start: a message that comes with the 101 is emitted at once.
	ws.on("message", data => {
		messages.push(Buffer.isBuffer(data) ? data : Buffer.from(data as ArrayBuffer));
		wake?.();
	});
	await new Promise<void>((resolve, reject) => {
		ws.once("open", () => resolve());
		ws.once("error", reject);
		ws.once("unexpected-response", (_request, response) => reject(new Error(`HTTP ${response.statusCode}`)));
	});
	return {
		ws,
		port: wsPort(ws),
		messages,
		async next() {
			const deadline = Date.now() + WAIT;
			while (messages.length <= taken) {
				if (Date.now() > deadline || ws.readyState > WebSocket.OPEN) throw new Error("no WebSocket message came");
				await new Promise<void>(resolve => {
					wake = resolve;
					setTimeout(resolve, 100);
				});
			}
			return messages[taken++];
		},
	};
}

export async function closeWith1000({ ws }: WsClient): Promise<void> {
	const done = closed(ws, WAIT);
	ws.close(1000, "done");
	const { code } = await done;
	if (code !== 1000) throw new Error(`Close 1000 answered with ${code}`);
}

/** A raw connection through the handshake on `path`. */
export async function rawOpen(target: ChurnTarget, path: string): Promise<RawConnection & { port: number }> {
	const connection = await RawConnection.open(new URL(wsUrl(target, path)), WAIT);
	return Object.assign(connection, { port: portOf(connection.socket) });
}

export async function serverClosedTcp(connection: RawConnection, what: string, timeoutMs = WAIT): Promise<void> {
	if (!(await connection.waitFor(() => connection.tcpClosed, timeoutMs))) throw new Error(`${what}: the device did not close TCP within ${timeoutMs} ms`);
}

/**
 * A TCP client that watches its socket: bytes in, and whether the device
 * closed (FIN or reset). It never writes unless told: a WebSocket client
 * built on it answers no Ping and no Close.
 */
export class Watched {
	readonly socket: net.Socket;
	readonly port: number;
	received = Buffer.alloc(0);
	closed = false;
	readonly #waiters = new Set<() => void>();

	private constructor(socket: net.Socket) {
		this.socket = socket;
		this.port = portOf(socket);
		socket.on("error", () => undefined);
		socket.on("data", chunk => {
			this.received = Buffer.concat([this.received, chunk]);
			this.#notify();
		});
		const end = () => {
			this.closed = true;
			this.#notify();
		};
		socket.on("end", end);
		socket.on("close", end);
	}

	static connect(endpoint: Endpoint): Promise<Watched> {
		return new Promise((resolve, reject) => {
			const socket = net.connect({ host: endpoint.host, port: endpoint.port });
			const timer = setTimeout(() => {
				socket.destroy();
				reject(new Error(`connect to ${endpoint.host}:${endpoint.port} timed out`));
			}, WAIT);
			socket.once("connect", () => {
				clearTimeout(timer);
				socket.removeAllListeners("error");
				resolve(new Watched(socket));
			});
			socket.once("error", e => {
				clearTimeout(timer);
				reject(e);
			});
		});
	}

	until(test: () => boolean, what: string, timeoutMs = WAIT): Promise<void> {
		if (test()) return Promise.resolve();
		return new Promise((resolve, reject) => {
			const check = () => {
				if (!test()) return;
				clearTimeout(timer);
				this.#waiters.delete(check);
				resolve();
			};
			const timer = setTimeout(() => {
				this.#waiters.delete(check);
				reject(new Error(`${what}: not within ${timeoutMs} ms (${this.received.length} bytes in, ${this.closed ? "closed" : "open"})`));
			}, timeoutMs);
			this.#waiters.add(check);
		});
	}

	#notify(): void {
		for (const waiter of [...this.#waiters]) waiter();
	}
}

/** A WebSocket client that completes the handshake by hand and then answers nothing (no Pong, no Close). */
export async function silentWs(target: ChurnTarget, path: string): Promise<Watched> {
	const client = await Watched.connect({ host: target.host, port: target.wsPort });
	client.socket.write(upgradeRequest(new URL(wsUrl(target, path)), newKey()));
	await client.until(() => client.received.includes("\r\n\r\n"), "the 101 answer");
	const status = client.received.subarray(0, 12).toString("latin1");
	if (status !== "HTTP/1.1 101") throw new Error(`upgrade answered ${client.received.subarray(0, client.received.indexOf("\r\n")).toString("latin1")}`);
	client.received = client.received.subarray(client.received.indexOf("\r\n\r\n") + 4);
	return client;
}

/** The status of an HTTP answer in `bytes` (0 when none yet). */
export function statusOf(bytes: Buffer): number {
	const match = /^HTTP\/1\.[01] (\d{3})/.exec(bytes.subarray(0, 16).toString("latin1"));
	return match ? Number(match[1]) : 0;
}

export async function wsSockets(target: ChurnTarget): Promise<number> {
	return (await target.census()).servers.find(s => s.kind === "WebSocketServer")?.sockets ?? 0;
}

/** Wait until the WebSocket server holds no socket (a run alone on the server). */
export async function socketsDown(target: ChurnTarget): Promise<void> {
	for (const deadline = Date.now() + WAIT; (await wsSockets(target)) > 0; ) {
		if (Date.now() > deadline) throw new Error("the WebSocket server still holds a socket of a client that reset");
		await sleep(100);
	}
}

/* ------------------------------------------------ the WebSocket routes */

export type Route = "echo" | "broadcast" | "log";

export const serviceOf: Record<Route, Service> = { echo: "echo route", broadcast: "broadcast route", log: "log route" };

/** The exchange that shows a route works before the end: an echo, a message relayed, a log line. */
export async function exercise(route: Route, client: WsClient): Promise<void> {
	if (route === "echo") {
		const message = randomBytes(64);
		client.ws.send(message);
		if (!(await client.next()).equals(message)) throw new Error("the echo came back different");
	} else if (route === "broadcast") client.ws.send(randomBytes(32));
	else await client.next(); // the log route sends the line of this follower's own arrival
}

/** The bytes that show a raw client is through, before it ends: a message (the log route ignores it). */
export function rawMessage(): Buffer {
	return frame(Op.TEXT, "churn");
}
