/*
 * TCP echo server on the ECMA-419 listener and TCP sockets, after the
 * classic ESP32 example: `maxClients` connections are served at once; up to
 * `backlog` more wait, accepted but not served, and are served in arrival
 * order as soon as a slot frees, whatever they sent meanwhile echoed first
 * (a waiting socket is not read, so its bytes stay in the platform's
 * buffers); any connection beyond that is closed at once. With `lruPurge`
 * (ESP-IDF httpd's lru_purge_enable), a connection that finds every slot
 * and the backlog taken closes the served connection idle the longest and
 * takes its slot instead.
 *
 * Dead peers free their slot at once:
 * - a reset, a FIN or a failed connection comes as onError (after the echo
 *   of what the peer sent before its FIN, tcp/echo-stream finish());
 * - a failed write ends the connection where it happens;
 * - where the platform stays silent (the simulator after an error found
 *   while bytes were buffered, or by write()), the sweep probes every
 *   connection the platform owes a callback (tcp/echo-stream quiet());
 * - waiting connections are probed before one is served and whenever the
 *   backlog is full, so a dead one never holds a place.
 * Vanished peers (no FIN, no RST: out of range): ECMA-419 sockets do not
 * expose TCP keepalive on esp32 or the simulator, so a connection that moves
 * no byte for `idleTimeout` ms is closed instead.
 */

import Listener from "embedded:io/socket/listener";
import TCP from "embedded:io/socket/tcp";
import Timer from "timer";
import { Log, peerName } from "modules/log";
import { ConnectionGone, EchoStream, quietLimit } from "tcp/echo-stream";

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
	/** A newcomer that finds every slot and the backlog taken closes the longest-idle connection instead of being refused. */
	lruPurge?: boolean;
}

/** An accepted connection not served yet. */
interface Waiting {
	from: TCP;
	peer: string;
}

/** Whether an accepted, unserved socket still exists: a zero-length write fails once it is gone. */
function alive(from: TCP): boolean {
	try {
		return typeof from.write(new ArrayBuffer(0)) === "number";
	}
	catch {
		return false;
	}
}

export class EchoServer {
	readonly options: EchoServerOptions;
	#listener: ClosableListener | undefined;
	#served = new Set<EchoConnection>();
	#waiting: Waiting[] = [];
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
		this.#sweepTimer = Timer.repeat(() => this.#sweep(), idleTimeout > 0 ? Math.min(quietLimit, Math.max(50, idleTimeout >> 2)) : quietLimit);
		log.info(`Socket listening on port ${this.port}, serving ${maxClients} clients at once, ${backlog} waiting${this.options.lruPurge ? ", longest-idle purged when full" : ""}`);
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
		if (this.#served.size < this.options.maxClients)
			return this.#serve(from, peer);
		if (this.#waiting.length >= this.options.backlog)
			this.#pruneWaiting();
		if (this.#waiting.length < this.options.backlog) {
			this.#waiting.push({ from, peer });
			log.info(`Socket accepted ip address: ${peer}, waiting for a free slot (${this.#waiting.length} waiting)`);
			return;
		}
		const idlest = this.options.lruPurge ? this.#idlest() : undefined;
		if (idlest) {
			idlest.close(`purged, idle for ${Date.now() - idlest.stream.lastActivity} ms, to serve ${peer}`, false);
			return this.#serve(from, peer);
		}
		closeQuietly(from);
		log.warn(`Connection refused from ${peer}: ${this.#served.size} clients served and ${this.#waiting.length} waiting`);
	}

	/** Drop waiting connections whose peer is gone. */
	#pruneWaiting(): void {
		this.#waiting = this.#waiting.filter(waiting => {
			if (alive(waiting.from))
				return true;
			closeQuietly(waiting.from);
			log.info(`Connection closed: ${waiting.peer}, gone while waiting for a slot`);
			return false;
		});
	}

	#idlest(): EchoConnection | undefined {
		let idlest: EchoConnection | undefined;
		for (const connection of this.#served)
			if (!idlest || connection.stream.lastActivity < idlest.stream.lastActivity)
				idlest = connection;
		return idlest;
	}

	#serve(from: TCP, peer: string): void {
		try {
			const connection = new EchoConnection(from, peer, this.options.chunk, (reason, next) => this.#ended(connection, reason, next));
			this.#served.add(connection);
			log.info(`Socket accepted ip address: ${peer}`);
		}
		catch (e) {
			log.error(`serving ${peer} failed: ${(e as Error).message}`);
		}
	}

	#ended(connection: EchoConnection, reason: string, next: boolean): void {
		this.#served.delete(connection);
		const { peer, echoed, pending } = connection.stream;
		log.info(`Connection closed: ${peer}, ${echoed} bytes echoed${pending ? `, ${pending} left unsent` : ""} (${reason})`);
		if (!next)
			return;
		this.#pruneWaiting();
		const waiting = this.#waiting.shift();
		if (waiting) {
			log.info(`Slot free: serving waiting ${waiting.peer}`);
			this.#serve(waiting.from, waiting.peer);
		}
	}

	/** Close connections idle past the timeout, and those the platform went quiet on whose peer is gone. */
	#sweep(): void {
		const { idleTimeout } = this.options;
		const now = Date.now();
		for (const connection of [...this.#served]) {
			const { stream } = connection;
			if (idleTimeout > 0 && now - stream.lastActivity > idleTimeout)
				connection.close(`idle for ${idleTimeout} ms`);
			else if (stream.quiet(now) && !stream.probe())
				connection.close("peer gone (found by a probe)");
		}
		if (this.#waiting.length)
			this.#pruneWaiting();
	}
}

function closeQuietly(socket: TCP): void {
	try {
		socket.close();
	}
	catch {
		// already closed by the platform
	}
}

/** One served connection: the echo stream on its socket, and how it ends. */
class EchoConnection {
	readonly stream: EchoStream;
	#open = true;
	#onClosed: (reason: string, next: boolean) => void;

	constructor(from: TCP, peer: string, chunk: number, onClosed: (reason: string, next: boolean) => void) {
		this.stream = new EchoStream(log, peer, chunk);
		this.#onClosed = onClosed;
		this.stream.socket = new TCP({
			from,
			target: this,
			onReadable(this: TCP & { target: EchoConnection }, bytes: number) {
				this.target.#readable(bytes);
			},
			onWritable(this: TCP & { target: EchoConnection }, bytes: number) {
				this.target.#writable(bytes);
			},
			onError(this: TCP & { target: EchoConnection }) {
				this.target.#error();
			},
		} as ConstructorParameters<typeof TCP>[0]);
	}

	#readable(bytes: number): void {
		try {
			this.stream.readable(bytes);
		}
		catch (e) {
			this.#failed(e);
		}
	}

	#writable(bytes: number): void {
		try {
			this.stream.writableBudget(bytes);
		}
		catch (e) {
			this.#failed(e);
		}
	}

	#error(): void {
		if (!this.#open)
			return;
		this.stream.finish();		// a FIN: echo what the peer sent before it, as far as the platform lets us
		this.close("peer closed or reset");
	}

	#failed(e: unknown): void {
		if (e instanceof ConnectionGone)
			return this.close("peer gone (write failed)");
		log.error(`echo to ${this.stream.peer} failed: ${(e as Error).message}`);
		this.close("error");
	}

	/** Close the socket (once) and report; `next`: serve a waiting connection in this slot. */
	close(reason: string, next = true): void {
		if (!this.#open)
			return;
		this.#open = false;
		if (this.stream.socket)
			closeQuietly(this.stream.socket);
		this.#onClosed(reason, next);
	}
}
