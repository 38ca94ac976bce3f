/*
 * TCP echo server on the ECMA-419 listener and TCP sockets, after the
 * classic ESP32 example: `maxClients` connections are served at once; up to
 * `backlog` more wait, accepted but not served, and are served in arrival
 * order as soon as a slot frees, whatever they sent meanwhile echoed first
 * (a waiting socket is not read, so its bytes stay in the platform's
 * buffers); any connection beyond that is closed at once.
 *
 * Dead or silent peers: ECMA-419 sockets do not expose TCP keepalive on
 * esp32 or the simulator, so a connection that moves no byte for
 * `idleTimeout` ms is closed instead. A stalled connection is also probed
 * once a second (tcp/echo-stream), so a peer that vanished while its echo
 * was backed up frees its slot at once rather than at the idle timeout.
 */

import Listener from "embedded:io/socket/listener";
import TCP from "embedded:io/socket/tcp";
import Timer from "timer";
import { Log, peerName } from "modules/log";
import { EchoStream } from "tcp/echo-stream";

const log = new Log("tcp-server");

/** ECMA-419 listeners have close(); Moddable's typings (SDK and npm) leave it out. */
type ClosableListener = Listener & { close(): void };

export interface EchoServerOptions {
	port: number;
	maxClients: number;
	backlog: number;
	/** ms without a byte moved before a served connection is closed; 0: never. */
	idleTimeout: number;
	chunk: number;
}

export class EchoServer {
	readonly options: EchoServerOptions;
	#listener: ClosableListener | undefined;
	#served = new Set<EchoConnection>();
	#waiting: { from: TCP; peer: string }[] = [];
	#sweepTimer: Timer | undefined;

	constructor(options: EchoServerOptions) {
		this.options = options;
	}

	/** The port actually listened on (differs from the option when it was 0). */
	get port(): number {
		return this.#listener?.port ?? this.options.port;
	}

	get served(): number {
		return this.#served.size;
	}

	get waiting(): number {
		return this.#waiting.length;
	}

	start(): void {
		const server = this;
		this.#listener = <ClosableListener>new Listener({
			port: this.options.port,
			onReadable(count: number) {
				while (count-- > 0) {
					const from = this.read();
					if (from)
						server.#arrived(from);
				}
			},
		});
		const { maxClients, backlog, idleTimeout } = this.options;
		this.#sweepTimer = Timer.repeat(() => this.#sweep(), idleTimeout > 0 ? Math.min(1000, Math.max(50, idleTimeout >> 2)) : 1000);
		log.info(`Socket listening on port ${this.port}, serving ${maxClients} clients at once, ${backlog} waiting`);
	}

	close(): void {
		Timer.clear(this.#sweepTimer);
		this.#sweepTimer = undefined;
		this.#listener?.close();
		this.#listener = undefined;
		for (const { from } of this.#waiting.splice(0))
			from.close();
		for (const connection of [...this.#served])
			connection.close("server stopped");
	}

	#arrived(from: TCP): void {
		const peer = peerName(from.remoteAddress, from.remotePort);
		if (this.#served.size < this.options.maxClients) {
			this.#serve(from, peer);
		}
		else if (this.#waiting.length < this.options.backlog) {
			this.#waiting.push({ from, peer });
			log.info(`Socket accepted ip address: ${peer}, waiting for a free slot (${this.#waiting.length} waiting)`);
		}
		else {
			from.close();
			log.warn(`Connection refused from ${peer}: ${this.#served.size} clients served and ${this.#waiting.length} waiting`);
		}
	}

	#serve(from: TCP, peer: string): void {
		try {
			const connection = new EchoConnection(from, peer, this.options.chunk, reason => this.#ended(connection, reason));
			this.#served.add(connection);
			log.info(`Socket accepted ip address: ${peer}`);
		}
		catch (e) {
			log.error(`serving ${peer} failed: ${(e as Error).message}`);
		}
	}

	#ended(connection: EchoConnection, reason: string): void {
		this.#served.delete(connection);
		const { peer, echoed, pending } = connection.stream;
		log.info(`Connection closed: ${peer}, ${echoed} bytes echoed${pending ? `, ${pending} left unsent` : ""} (${reason})`);
		const next = this.#waiting.shift();
		if (next) {
			log.info(`Slot free: serving waiting ${next.peer}`);
			this.#serve(next.from, next.peer);
		}
	}

	/** Close connections idle past the timeout, and stalled ones whose peer is gone. */
	#sweep(): void {
		const { idleTimeout } = this.options;
		const limit = Date.now() - idleTimeout;
		for (const connection of [...this.#served]) {
			const { stream } = connection;
			if (idleTimeout > 0 && stream.lastActivity < limit)
				connection.close(`idle for ${idleTimeout} ms`);
			else if (stream.stalled && !stream.probe())
				connection.close("peer gone while the echo was backed up");
		}
	}
}

class EchoConnection {
	readonly stream: EchoStream;
	#open = true;
	#onClosed: (reason: string) => void;

	constructor(from: TCP, peer: string, chunk: number, onClosed: (reason: string) => void) {
		this.stream = new EchoStream(log, peer, chunk);
		this.#onClosed = onClosed;
		const connection = this;
		this.stream.socket = new TCP({
			from,
			onReadable(bytes: number) {
				try {
					connection.stream.readable(bytes);
				}
				catch (e) {
					connection.#failed(e);
				}
			},
			onWritable(bytes: number) {
				try {
					connection.stream.writableBudget(bytes);
				}
				catch (e) {
					connection.#failed(e);
				}
			},
			onError() {
				connection.close("peer closed or reset");
			},
		});
	}

	#failed(e: unknown): void {
		log.error(`echo to ${this.stream.peer} failed: ${(e as Error).message}`);
		this.close("error");
	}

	close(reason: string): void {
		if (!this.#open)
			return;
		this.#open = false;
		try {
			this.stream.socket?.close();
		}
		catch {
			// already closed by the platform
		}
		this.#onClosed(reason);
	}
}
