/*
 * A hostile peer for the device's TCP echo client: a raw node:net server
 * that gives each connection one behaviour, taken in order from a list the
 * test chooses (connection n gets behaviours[n]); once the list is used up,
 * every connection gets the well-behaved peer of host-harness/peers/
 * tcp-peer.ts (reads the greeting, then sends payloads and checks their
 * echo), so a test can show that the client recovers on the same port.
 */

import { EventEmitter } from "node:events";
import * as net from "node:net";
import { readBytes } from "../oracle/tcp-echo.js";
import { nthSession } from "./sessions.js";
import { greeting, TcpPeerSession } from "./tcp-peer.js";

export type HostileTcpBehaviour =
	/**
	 * Reads the greeting, then aborts the connection with a reset (RST, RFC 9293 3.5.2: the
	 * receiver aborts; data in flight is lost). With `payload`, first sends that many bytes
	 * and resets once `afterEcho` of them came back: a reset in the middle of an echo.
	 */
	| { kind: "reset"; payload?: number; afterEcho?: number }
	/**
	 * Reads the greeting, sends `payload` (may be "") and half-closes (FIN, RFC 9293 3.6): it
	 * sends nothing more but still reads. An echo client must write back what it received, see
	 * that the peer's stream has ended, and close its side.
	 */
	| { kind: "halfClose"; payload: string }
	/** Accepts, never reads and never answers (a wedged peer): only the client's own deadline ends it. */
	| { kind: "stall" }
	/** The well-behaved peer (what every connection beyond the list gets). */
	| { kind: "echo" };

export class HostileTcpConnection {
	/** The greeting as read (behaviours that read it). */
	readonly greeting: Promise<string> | undefined;
	/** Everything the client sent after its greeting (reset, halfClose). */
	received = Buffer.alloc(0);
	/** The well-behaved session, for "echo". */
	readonly session: TcpPeerSession | undefined;
	/** The client closed its end (FIN) or the socket closed. */
	readonly ended: Promise<void>;

	constructor(
		readonly index: number,
		readonly behaviour: HostileTcpBehaviour,
		readonly socket: net.Socket,
	) {
		socket.on("error", () => {});
		this.ended = new Promise(resolve => {
			socket.once("end", () => resolve());
			socket.once("close", () => resolve());
		});
		switch (behaviour.kind) {
			case "echo":
				this.session = new TcpPeerSession(socket);
				socket.once("end", () => socket.end()); // the client closed: so do we
				break;
			case "stall":
				socket.pause(); // read nothing: the client's greeting stays in our receive buffer
				break;
			case "reset":
			case "halfClose":
				this.greeting = readBytes(socket, greeting.length, 10_000).then(bytes => {
					socket.on("data", chunk => (this.received = Buffer.concat([this.received, chunk])));
					this.#act();
					return bytes.toString("latin1");
				});
				this.greeting.catch(() => {});
				break;
		}
	}

	/** Resolves once `count` bytes came back after the greeting. */
	async echoed(count: number, timeoutMs = 10_000): Promise<Buffer> {
		const end = Date.now() + timeoutMs;
		while (this.received.length < count) {
			if (Date.now() > end) throw new Error(`only ${this.received.length} of ${count} bytes came back on connection #${this.index + 1}`);
			await new Promise(r => setTimeout(r, 20));
		}
		return this.received.subarray(0, count);
	}

	#act(): void {
		const socket = this.socket;
		const behaviour = this.behaviour;
		if (behaviour.kind === "halfClose") {
			socket.end(behaviour.payload);
			return;
		}
		if (behaviour.kind !== "reset") return;
		if (!behaviour.payload) {
			socket.resetAndDestroy();
			return;
		}
		socket.write(Buffer.alloc(behaviour.payload, 0x5a));
		const after = behaviour.afterEcho ?? 1;
		const check = () => {
			if (this.received.length >= after) {
				socket.off("data", check);
				socket.resetAndDestroy();
			}
		};
		socket.on("data", check);
	}
}

export class HostileTcpServer extends EventEmitter<{ session: [HostileTcpConnection] }> {
	readonly connections: HostileTcpConnection[] = [];
	#server: net.Server;
	#behaviours: HostileTcpBehaviour[];

	private constructor(server: net.Server, behaviours: HostileTcpBehaviour[]) {
		super();
		this.#server = server;
		this.#behaviours = behaviours;
		server.on("connection", socket => {
			const index = this.connections.length;
			const connection = new HostileTcpConnection(index, this.#behaviours[index] ?? { kind: "echo" }, socket);
			this.connections.push(connection);
			this.emit("session", connection);
		});
	}

	/** Listen on host:port (0: any free port); connection n gets behaviours[n], then the well-behaved peer. */
	static start(behaviours: HostileTcpBehaviour[], port = 0, host = "127.0.0.1"): Promise<HostileTcpServer> {
		return new Promise((resolve, reject) => {
			const server = net.createServer({ allowHalfOpen: true });
			server.once("error", reject);
			server.listen({ port, host }, () => resolve(new HostileTcpServer(server, behaviours)));
		});
	}

	get port(): number {
		return (this.#server.address() as net.AddressInfo).port;
	}

	/** Connection number `index` (0: the first), now or once it arrives. */
	connection(index: number, timeoutMs = 15_000): Promise<HostileTcpConnection> {
		return nthSession(this, this.connections, index, timeoutMs, () => `device connection to the hostile TCP peer on port ${this.port}`);
	}

	/** Stop listening and drop every connection. */
	close(): Promise<void> {
		for (const connection of this.connections) connection.socket.destroy();
		return new Promise(resolve => this.#server.close(() => resolve()));
	}
}
