/*
 * The PC end of the device's TCP echo client: a TCP server (default port
 * 8080, as in the ESP-IDF example) that waits for the device's greeting,
 * then sends payloads and checks that each comes back byte for byte.
 */

import { EventEmitter } from "node:events";
import * as net from "node:net";
import { readBytes } from "../oracle/tcp-echo.js";
import { nthSession } from "./sessions.js";
import type { TlsGate } from "./tls-gate.js";

export const greeting = "Hello World!";

export class TcpPeerSession {
	readonly remote: string;
	readonly greeting: Promise<string>;
	readonly closed: Promise<void>;
	bytesEchoed = 0;

	constructor(
		readonly socket: net.Socket,
		greetingTimeoutMs = 10_000,
	) {
		this.remote = `${socket.remoteAddress?.replace(/^::ffff:/, "")}:${socket.remotePort}`;
		this.greeting = readBytes(socket, greeting.length, greetingTimeoutMs).then(b => b.toString("latin1"));
		this.greeting.catch(() => {});
		this.closed = new Promise(resolve => socket.once("close", () => resolve()));
		socket.on("error", () => {});
	}

	/** Send a payload after the greeting and resolve with what came back (same length). */
	async echo(payload: Uint8Array, timeoutMs = 10_000): Promise<Buffer> {
		await this.greeting;
		const back = readBytes(this.socket, payload.length, timeoutMs);
		this.socket.write(payload);
		const data = await back;
		this.bytesEchoed += data.length;
		return data;
	}

	close(): void {
		this.socket.destroy();
	}
}

export class TcpPeer extends EventEmitter<{ session: [TcpPeerSession] }> {
	readonly sessions: TcpPeerSession[] = [];
	#server: net.Server;

	/** The TLS gate when the peer speaks TLS (serve --tls). */
	readonly gate: TlsGate | undefined;
	readonly #raw = new Set<net.Socket>();

	private constructor(server: net.Server, gate?: TlsGate) {
		super();
		this.#server = server;
		this.gate = gate;
		const open = (socket: net.Socket) => {
			const session = new TcpPeerSession(socket);
			this.sessions.push(session);
			this.emit("session", session);
		};
		server.on("connection", socket => {
			if (!gate) return open(socket);
			// A client the gate refused may never close its end: close() ends it.
			this.#raw.add(socket);
			socket.once("close", () => this.#raw.delete(socket));
			gate.accept(socket, open);
		});
	}

	/** gate: speak TLS (peers/tls-gate.ts) instead of plain TCP. */
	static start(port = 8080, host = "0.0.0.0", gate?: TlsGate): Promise<TcpPeer> {
		return new Promise((resolve, reject) => {
			const server = net.createServer();
			server.once("error", e =>
				reject((e as NodeJS.ErrnoException).code === "EADDRINUSE" ? new Error(`port ${port} is in use: stop what holds it or choose another port`) : e),
			);
			server.listen({ port, host }, () => resolve(new TcpPeer(server, gate)));
		});
	}

	get port(): number {
		return (this.#server.address() as net.AddressInfo).port;
	}

	/** The device's session number `index` (0: the first), now or once it arrives. */
	session(index: number, timeoutMs = 15_000): Promise<TcpPeerSession> {
		return nthSession(this, this.sessions, index, timeoutMs, () => `device connection to the TCP peer on port ${this.port}`);
	}

	/** Stop listening and drop every session. */
	close(): Promise<void> {
		for (const session of this.sessions) session.close();
		const closed = new Promise<void>(resolve => this.#server.close(() => resolve()));
		for (const socket of this.#raw) socket.destroy();
		return closed;
	}
}
