/*
 * The PC end of the device's WebSocket client: a `ws` echo server (default
 * port 5000, path "/", as the ESP-IDF example's peer) that sends every
 * message back with its type and records what each device session sent and
 * how it closed.
 */

import { EventEmitter } from "node:events";
import * as http from "node:http";
import * as net from "node:net";
import { type WebSocket, WebSocketServer } from "ws";
import { nthSession } from "./sessions.js";
import type { TlsGate } from "./tls-gate.js";

export interface PeerMessage {
	binary: boolean;
	data: Buffer;
}

export class WsPeerSession {
	readonly messages: PeerMessage[] = [];
	readonly closed: Promise<{ code: number; reason: string }>;
	readonly emitter = new EventEmitter<{ message: [PeerMessage] }>();

	constructor(
		readonly socket: WebSocket,
		readonly remote: string,
	) {
		this.closed = new Promise(resolve => socket.once("close", (code, reason) => resolve({ code, reason: reason.toString() })));
		socket.on("message", (data, isBinary) => {
			const message = { binary: isBinary, data: Buffer.isBuffer(data) ? data : Buffer.concat(data as Buffer[]) };
			this.messages.push(message);
			this.emitter.emit("message", message);
			socket.send(message.data, { binary: isBinary });
		});
		socket.on("error", () => {});
	}

	/** Resolves once `count` messages have arrived. */
	received(count: number, timeoutMs = 20_000): Promise<PeerMessage[]> {
		if (this.messages.length >= count) return Promise.resolve(this.messages.slice(0, count));
		return new Promise((resolve, reject) => {
			const timer = setTimeout(() => {
				this.emitter.off("message", onMessage);
				reject(new Error(`only ${this.messages.length} of ${count} messages from ${this.remote} within ${timeoutMs} ms`));
			}, timeoutMs);
			const onMessage = () => {
				if (this.messages.length >= count) {
					clearTimeout(timer);
					this.emitter.off("message", onMessage);
					resolve(this.messages.slice(0, count));
				}
			};
			this.emitter.on("message", onMessage);
		});
	}
}

export class WsPeer extends EventEmitter<{ session: [WsPeerSession] }> {
	readonly sessions: WsPeerSession[] = [];
	#server: WebSocketServer;

	/** The TLS gate when the peer speaks TLS (wss://, serve --tls). */
	readonly gate: TlsGate | undefined;
	#listener: net.Server | undefined;
	/** Accepted sockets behind a gate (a refused TLS client may never close its end): destroyed by close(). */
	static readonly #raw = new Set<net.Socket>();

	private constructor(server: WebSocketServer, gate?: TlsGate, listener?: net.Server) {
		super();
		this.#server = server;
		this.gate = gate;
		this.#listener = listener;
		server.on("connection", (socket, request) => {
			const session = new WsPeerSession(socket, `${request.socket.remoteAddress?.replace(/^::ffff:/, "")}:${request.socket.remotePort}`);
			this.sessions.push(session);
			this.emit("session", session);
		});
	}

	/** gate: speak TLS (wss://, peers/tls-gate.ts) instead of plain TCP. */
	static start(port = 5000, host = "0.0.0.0", path = "/", gate?: TlsGate): Promise<WsPeer> {
		if (gate) {
			// HTTP on the sockets the gate delivers: TLS ones, or raw ones in its "plain" mode.
			const web = http.createServer();
			const server = new WebSocketServer({ server: web, path });
			const listener = net.createServer(socket => {
				WsPeer.#raw.add(socket);
				socket.once("close", () => WsPeer.#raw.delete(socket));
				gate.accept(socket, s => web.emit("connection", s));
			});
			return new Promise((resolve, reject) => {
				listener.once("error", e =>
					reject((e as NodeJS.ErrnoException).code === "EADDRINUSE" ? new Error(`port ${port} is in use: stop what holds it or choose another port`) : e),
				);
				listener.listen({ port, host }, () => resolve(new WsPeer(server, gate, listener)));
			});
		}
		return new Promise((resolve, reject) => {
			const server = new WebSocketServer({ port, host, path });
			server.once("error", e =>
				reject((e as NodeJS.ErrnoException).code === "EADDRINUSE" ? new Error(`port ${port} is in use: stop what holds it or choose another port`) : e),
			);
			server.once("listening", () => resolve(new WsPeer(server)));
		});
	}

	get port(): number {
		return ((this.#listener ?? this.#server).address() as { port: number }).port;
	}

	/** The device's session number `index` (0: the first), now or once it arrives. */
	session(index: number, timeoutMs = 15_000): Promise<WsPeerSession> {
		return nthSession(this, this.sessions, index, timeoutMs, () => `device WebSocket session on port ${this.port}`);
	}

	close(): Promise<void> {
		for (const client of this.#server.clients) client.terminate();
		const listener = this.#listener;
		if (listener) {
			const closed = new Promise<void>(resolve => this.#server.close(() => listener.close(() => resolve())));
			for (const socket of WsPeer.#raw) if ((socket.address() as net.AddressInfo).port === this.port) socket.destroy();
			return closed;
		}
		return new Promise(resolve => this.#server.close(() => resolve()));
	}
}
