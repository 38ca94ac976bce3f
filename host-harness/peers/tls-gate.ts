/*
 * What a peer's listening port speaks to a TLS client, switchable while it
 * runs, so one peer plays the good server and each faulty one in turn (and
 * a device's retry can be seen to succeed once the fault is fixed):
 * - "tls": TLS with the current credentials (setCredentials() swaps them:
 *   a certificate from another CA, for another name, expired);
 * - "plain": no TLS at all, the peer's plain protocol on the raw socket
 *   (a WebSocket server answers the ClientHello with HTTP 400, a TCP echo
 *   peer echoes it back);
 * - "drop-handshake": TLS begins (the ClientHello is read, and the first
 *   half of a real server's first flight, ServerHello onwards, is written:
 *   the ClientHello is relayed to a TLS server of the gate's own on
 *   loopback), then the server closes the connection.
 * Every TLS failure a client causes is kept in `failures` (Node's words).
 */

import * as net from "node:net";
import * as tls from "node:tls";
import type { ServerCredentials } from "../lib/tls-certs.js";

export type GateMode = "tls" | "plain" | "drop-handshake";

export class TlsGate {
	mode: GateMode = "tls";
	readonly failures: string[] = [];
	#context: tls.SecureContext;
	readonly #credentials: ServerCredentials;

	constructor(credentials: ServerCredentials) {
		this.#credentials = credentials;
		this.#context = tls.createSecureContext(credentials);
	}

	/** Serve these credentials from the next connection on. */
	setCredentials(credentials: ServerCredentials): void {
		this.#context = tls.createSecureContext(credentials);
	}

	/** An accepted connection: hand `deliver` the socket the peer's protocol runs on (TLS once secure), or play the fault. */
	accept(socket: net.Socket, deliver: (socket: net.Socket) => void): void {
		socket.on("error", () => {});
		if (this.mode === "plain") {
			deliver(socket);
			return;
		}
		if (this.mode === "drop-handshake") {
			this.#dropMidHandshake(socket);
			return;
		}
		const secure = new tls.TLSSocket(socket, { isServer: true, secureContext: this.#context });
		secure.on("error", e => this.failures.push(e.message));
		secure.once("secure", () => deliver(secure));
	}

	#dropMidHandshake(socket: net.Socket): void {
		socket.once("data", async hello => {
			const relay = await this.#relayServer();
			const upstream = net.connect((relay.address() as net.AddressInfo).port, "127.0.0.1");
			upstream.on("error", () => {});
			upstream.write(hello);
			upstream.once("data", flight => {
				socket.end(flight.subarray(0, Math.max(1, flight.length >> 1)));
				upstream.destroy();
			});
		});
	}

	#relay: Promise<tls.Server> | undefined;

	#relayServer(): Promise<tls.Server> {
		return (this.#relay ??= new Promise(resolve => {
			const server = tls.createServer(this.#credentials);
			server.on("tlsClientError", () => {});
			server.on("secureConnection", s => s.destroy());
			server.listen(0, "127.0.0.1", () => resolve(server));
			server.unref(); // never holds the harness up
		}));
	}
}
