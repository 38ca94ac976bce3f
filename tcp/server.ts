/*
 * TCP server, after the classic ESP32 example, for any service: each
 * served connection goes to a handler the service makes (tcp/connection:
 * a stream with backpressure). `maxClients` connections are served at once;
 * up to `backlog` more wait, accepted but not served, and are served in
 * arrival order as soon as a slot frees, whatever they sent meanwhile read
 * first (a waiting socket is not read, so its bytes stay in the platform's
 * buffers); any connection beyond that is closed at once. With `lruPurge`
 * (ESP-IDF httpd's lru_purge_enable), a connection that finds every slot
 * and the backlog taken closes the served connection idle the longest and
 * takes its slot instead.
 *
 * Dead peers free their slot at once:
 * - a reset, a FIN or a failed connection comes as onError (after the
 *   handler's onEnd wrote what it holds, tcp/connection);
 * - a failed write ends the connection where it happens;
 * - where the platform stays silent (the simulator after an error found
 *   while bytes were buffered, or by write()), the sweep probes every
 *   connection the platform owes a callback (tcp/connection quiet());
 * - waiting connections are probed before one is served and whenever the
 *   backlog is full, so a dead one never holds a place.
 * Vanished peers (no FIN, no RST: out of range): ECMA-419 sockets do not
 * expose TCP keepalive on esp32 or the simulator, so a connection that moves
 * no byte for `idleTimeout` ms is closed instead.
 *
 * One timer per server (the sweep); connections report here as their owner.
 */

import type TCP from "embedded:io/socket/tcp";
import Timer from "timer";
import type { Log } from "modules/log";
import { peerName } from "modules/log";
import { TcpListener, closeQuietly, socketAlive } from "modules/listener";
import { TcpConnection, sweepInterval, type TcpConnectionOwner, type TcpService } from "tcp/connection";

export interface TcpServerOptions {
	/** 0: any free port (read `port` after start()). */
	port: number;
	maxClients: number;
	backlog: number;
	/** ms without a byte moved before a served connection is closed; 0: never. */
	idleTimeout: number;
	/** A newcomer that finds every slot and the backlog taken closes the longest-idle connection instead of being refused. */
	lruPurge?: boolean;
	/** Makes the handler of each served connection. */
	service: TcpService;
	log: Log;
}

/** An accepted connection not served yet. */
interface Waiting {
	from: TCP;
	peer: string;
}

export class TcpServer implements TcpConnectionOwner {
	readonly options: TcpServerOptions;
	readonly log: Log;
	#listener: TcpListener | undefined;
	#served = new Set<TcpConnection>();
	#waiting: Waiting[] = [];
	#sweepTimer: Timer | undefined;
	/** Whether a slot freed now goes to a waiting connection (not while purging for a newcomer). */
	#refill = true;

	constructor(options: TcpServerOptions) {
		this.options = options;
		this.log = options.log;
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

	/** The connections served now. */
	connections(): IterableIterator<TcpConnection> {
		return this.#served.values();
	}

	start(): void {
		if (this.#listener)
			throw new Error("already started");
		this.#listener = new TcpListener({ port: this.options.port, target: this, log: this.log });
		const { maxClients, backlog, idleTimeout } = this.options;
		this.#sweepTimer = Timer.repeat(() => this.#sweep(), sweepInterval(idleTimeout));
		this.log.info(`Socket listening on port ${this.port}, serving ${maxClients} clients at once, ${backlog} waiting${this.options.lruPurge ? ", longest-idle purged when full" : ""}`);
	}

	close(): void {
		Timer.clear(this.#sweepTimer);
		this.#sweepTimer = undefined;
		this.#listener?.close();
		this.#listener = undefined;
		for (const { from } of this.#waiting.splice(0))
			closeQuietly(from);
		this.#refill = false;
		for (const connection of [...this.#served])
			connection.close("server stopped");
		this.#refill = true;
	}

	/** From the listener: a new connection. */
	accept(from: TCP): void {
		const peer = peerName(from.remoteAddress, from.remotePort);
		if (this.#served.size < this.options.maxClients)
			return this.#serve(from, peer);
		if (this.#waiting.length >= this.options.backlog)
			this.#pruneWaiting();
		if (this.#waiting.length < this.options.backlog) {
			this.#waiting.push({ from, peer });
			this.log.info(`Socket accepted ip address: ${peer}, waiting for a free slot (${this.#waiting.length} waiting)`);
			return;
		}
		const idlest = this.options.lruPurge ? this.#idlest() : undefined;
		if (idlest) {
			this.#refill = false;
			idlest.close(`purged, idle for ${Date.now() - idlest.lastActivity} ms, to serve ${peer}`);
			this.#refill = true;
			return this.#serve(from, peer);
		}
		closeQuietly(from);
		this.log.warn(`Connection refused from ${peer}: ${this.#served.size} clients served and ${this.#waiting.length} waiting`);
	}

	/** From a served connection: it closed. */
	closed(connection: TcpConnection, reason: string, error?: unknown): void {
		if (!this.#served.delete(connection))
			return;
		if (error)
			this.log.error(`serving ${connection.peer} failed: ${(error as Error)?.message ?? error}`);
		const summary = connection.handler?.summary?.(connection);
		this.log.info(`Connection closed: ${connection.peer}${summary ? `, ${summary}` : ""} (${reason})`);
		if (!this.#refill)
			return;
		this.#pruneWaiting();
		const waiting = this.#waiting.shift();
		if (waiting) {
			this.log.info(`Slot free: serving waiting ${waiting.peer}`);
			this.#serve(waiting.from, waiting.peer);
		}
	}

	/** Drop waiting connections whose peer is gone. */
	#pruneWaiting(): void {
		this.#waiting = this.#waiting.filter(waiting => {
			if (socketAlive(waiting.from))
				return true;
			closeQuietly(waiting.from);
			this.log.info(`Connection closed: ${waiting.peer}, gone while waiting for a slot`);
			return false;
		});
	}

	#idlest(): TcpConnection | undefined {
		let idlest: TcpConnection | undefined;
		for (const connection of this.#served)
			if (!idlest || connection.lastActivity < idlest.lastActivity)
				idlest = connection;
		return idlest;
	}

	#serve(from: TCP, peer: string): void {
		let connection: TcpConnection | undefined;
		try {
			connection = new TcpConnection({ from, peer, owner: this });
			connection.handler = this.options.service.open(connection);
			this.#served.add(connection);
			this.log.info(`Socket accepted ip address: ${peer}`);
		}
		catch (e) {
			if (!connection && !socketAlive(from)) {
				// lwip: a peer that reset between the accept and now leaves a socket without a connection ("invalid from").
				closeQuietly(from);
				this.log.info(`Connection closed: ${peer}, gone before it was served`);
				return;
			}
			this.log.error(`serving ${peer} failed: ${(e as Error).message}`);
			if (connection)
				connection.close("error");
			else
				closeQuietly(from);
		}
	}

	/** Close connections idle past the timeout, and those the platform went quiet on whose peer is gone. */
	#sweep(): void {
		const { idleTimeout } = this.options;
		const now = Date.now();
		for (const connection of [...this.#served]) {
			if (idleTimeout > 0 && now - connection.lastActivity > idleTimeout)
				connection.close(`idle for ${idleTimeout} ms`);
			else if (connection.quiet(now) && !connection.probe())
				connection.close("peer gone (found by a probe)");
		}
		if (this.#waiting.length)
			this.#pruneWaiting();
	}
}
