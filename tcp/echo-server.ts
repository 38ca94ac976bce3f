/*
 * TCP echo server on the ECMA-419 listener and TCP sockets.
 *
 * Echo is byte-exact and needs no buffer of its own: each turn it reads only
 * as many bytes as the socket will accept for writing right now, and writes
 * them straight back. When the peer stops reading, the write budget stays at
 * zero, so the server stops reading, the platform's receive buffer fills and
 * TCP flow control pushes back on the peer. Memory per connection is the
 * platform socket's plus one transient chunk (`tcpChunk`).
 */

import Listener from "embedded:io/socket/listener";
import TCP from "embedded:io/socket/tcp";
import { Log, peerName, preview } from "modules/log";

const log = new Log("tcp-server");

/** Reads logged in full per connection; after that only the closing summary. */
const loggedReads = 8;

export interface EchoServerOptions {
	port: number;
	maxClients: number;
	chunk: number;
}

export class EchoServer {
	readonly options: EchoServerOptions;
	#listener: Listener | undefined;
	#connections = new Set<EchoConnection>();

	constructor(options: EchoServerOptions) {
		this.options = options;
	}

	/** The port actually listened on (differs from the option when it was 0). */
	get port(): number {
		return this.#listener?.port ?? this.options.port;
	}

	start(): void {
		const server = this;
		this.#listener = new Listener({
			port: this.options.port,
			onReadable(count: number) {
				while (count-- > 0) {
					const from = this.read();
					if (from)
						server.#accept(from);
				}
			},
		});
		log.info(`Socket listening on port ${this.port}, serving ${this.options.maxClients} clients at once`);
	}

	#accept(from: TCP): void {
		if (this.#connections.size >= this.options.maxClients) {
			const peer = peerName(from.remoteAddress, from.remotePort);
			from.close();
			log.warn(`Connection refused from ${peer}: ${this.#connections.size} clients already served`);
			return;
		}
		const connection = new EchoConnection(from, this.options.chunk, reason => {
			this.#connections.delete(connection);
			log.info(`Connection closed: ${connection.peer}, ${connection.echoed} bytes echoed (${reason})`);
		});
		this.#connections.add(connection);
		log.info(`Socket accepted ip address: ${connection.peer}`);
	}
}

class EchoConnection {
	readonly peer: string;
	echoed = 0;
	#socket: TCP;
	#chunk: number;
	#readable = 0;
	#writable = 0;
	#reads = 0;
	#open = true;
	#onClosed: (reason: string) => void;

	constructor(from: TCP, chunk: number, onClosed: (reason: string) => void) {
		this.peer = peerName(from.remoteAddress, from.remotePort);
		this.#chunk = chunk;
		this.#onClosed = onClosed;
		const connection = this;
		this.#socket = new TCP({
			from,
			onReadable(bytes: number) {
				connection.#readable = bytes;
				connection.#pump();
			},
			onWritable(bytes: number) {
				connection.#writable = bytes;
				connection.#pump();
			},
			onError() {
				connection.#close("peer closed or reset");
			},
		});
	}

	#pump(): void {
		try {
			while (this.#open && this.#readable > 0 && this.#writable > 0) {
				const count = Math.min(this.#readable, this.#writable, this.#chunk);
				const data = this.#socket.read(count) as ArrayBuffer;
				this.#readable -= count;
				this.#writable -= count;
				if (this.#reads++ < loggedReads)
					log.info(`Received ${count} bytes from ${this.peer}: ${preview(data)}`);
				this.#socket.write(data);
				this.echoed += count;
			}
		}
		catch (e) {
			log.error(`echo to ${this.peer} failed: ${(e as Error).message}`);
			this.#close("error");
		}
	}

	#close(reason: string): void {
		if (!this.#open)
			return;
		this.#open = false;
		this.#socket.close();
		this.#onClosed(reason);
	}
}
