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
 *   handler's onPeerEnd wrote what it holds, tcp/connection);
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
 * One timer per server (the sweep), while it has connections; they report
 * here as their owner.
 */

import type TCP from "embedded:io/socket/tcp";
import { enroll } from "modules/census";
import { type AcceptTarget, closeQuietly, socketAlive, TcpListener } from "modules/listener";
import { Log, peerName } from "modules/log";
import { repeatFor } from "modules/timer-target";
import { CloseCause } from "tcp/close-cause";
import { sweepInterval, type TcpConnection, type TcpConnectionOwner, TcpEndpoint, type TcpService } from "tcp/connection";
import Timer from "timer";

export interface TcpServerOptions {
	/** TCP port; 0 = any free port (read `port` after start()). */
	port: number;
	/** Makes the handler of each served connection. */
	service: TcpService;
	/** Connections served at once. Default 2. */
	maxClients?: number;
	/** Connections kept waiting (accepted, not served) while every slot is busy; more are closed at once. Default 1. */
	backlog?: number;
	/** ms without a byte moved before a served connection is closed; 0: never. Default 60000. */
	idleTimeout?: number;
	/** A newcomer that finds every slot and the backlog taken closes the longest-idle connection instead of being refused. Default false. */
	lruPurge?: boolean;
	/** Where the server and its connections' handlers log. Default a Log tagged logTag. */
	log?: Log;
	/** Tag of the server's log lines, when no log is given. Default "tcp-server". */
	logTag?: string;
}

/** The default log: preloaded (a Log is frozen), no slot at run time. */
const serverLog = new Log("tcp-server");

type Settings = Required<Omit<TcpServerOptions, "logTag">>;

/** An accepted connection not served yet. */
interface Waiting {
	from: TCP;
	peer: string;
}

export class TcpServer {
	// The hooks the library calls (the listener's accept, the connections'
	// closed) are TypeScript `private`, off the server's public type. The
	// listener and the connections get `hooks` instead of the server: one
	// object per server, of a class that implements their interfaces (so a
	// hook renamed on either side is a type error) and, written inside this
	// class, may call its private methods. Prototype methods and one field:
	// no closures, a few slots per server.
	private static readonly Hooks = class implements AcceptTarget, TcpConnectionOwner {
		constructor(readonly server: TcpServer) {}
		get log(): Log {
			return this.server.log;
		}
		accept(from: TCP): void {
			this.server.accept(from);
		}
		closed(connection: TcpEndpoint, cause: CloseCause, reason: string, error?: unknown): void {
			this.server.closed(connection, cause, reason, error);
		}
		/** The sweep timer (modules/timer-target). */
		fired(): void {
			this.server.sweep();
		}
	};
	readonly options: Settings;
	readonly log: Log;
	private readonly hooks = new TcpServer.Hooks(this);
	private listener: TcpListener | undefined;
	private servedEndpoints = new Set<TcpEndpoint>();
	private waitingQueue: Waiting[] = [];
	private sweepTimer: Timer | undefined;
	/** Whether a slot freed now goes to a waiting connection (not while purging for a newcomer). */
	private refill = true;

	constructor(options: TcpServerOptions) {
		this.log = options.log ?? (options.logTag && options.logTag !== serverLog.tag ? new Log(options.logTag) : serverLog);
		this.options = {
			port: options.port,
			service: options.service,
			maxClients: options.maxClients ?? 2,
			backlog: options.backlog ?? 1,
			idleTimeout: options.idleTimeout ?? 60000,
			lruPurge: options.lruPurge ?? false,
			log: this.log,
		};
		enroll(this);
	}

	/** The port actually listened on (differs from the option when it was 0). */
	get port(): number {
		return this.listener?.port ?? this.options.port;
	}

	get served(): number {
		return this.servedEndpoints.size;
	}

	get waiting(): number {
		return this.waitingQueue.length;
	}

	/** The connections served now. */
	connections(): IterableIterator<TcpConnection> {
		return this.servedEndpoints.values();
	}

	start(): void {
		if (this.listener) throw new Error("already started");
		this.listener = new TcpListener({ port: this.options.port, target: this.hooks, log: this.log });
		const { maxClients, backlog } = this.options;
		this.log.info(
			`Socket listening on port ${this.port}, serving ${maxClients} clients at once, ${backlog} waiting${this.options.lruPurge ? ", longest-idle purged when full" : ""}`,
		);
	}

	close(): void {
		this.stopSweep();
		this.listener?.close();
		this.listener = undefined;
		for (const { from } of this.waitingQueue.splice(0)) closeQuietly(from);
		this.refill = false;
		for (const connection of [...this.servedEndpoints]) connection.close(CloseCause.LOCAL, "server stopped");
		this.refill = true;
	}

	/** From the listener: a new connection. */
	private accept(from: TCP): void {
		const peer = peerName(from.remoteAddress, from.remotePort);
		if (this.servedEndpoints.size < this.options.maxClients) return this.serve(from, peer);
		if (this.waitingQueue.length >= this.options.backlog) this.pruneWaiting();
		if (this.waitingQueue.length < this.options.backlog) {
			this.waitingQueue.push({ from, peer });
			this.log.info(`Socket accepted ip address: ${peer}, waiting for a free slot (${this.waitingQueue.length} waiting)`);
			return;
		}
		const idlest = this.options.lruPurge ? this.idlest() : undefined;
		if (idlest) {
			this.refill = false;
			idlest.close(CloseCause.PURGED, `purged, idle for ${Date.now() - idlest.lastActivity} ms, to serve ${peer}`);
			this.refill = true;
			return this.serve(from, peer);
		}
		closeQuietly(from);
		this.log.warn(`Connection refused from ${peer}: ${this.servedEndpoints.size} clients served and ${this.waitingQueue.length} waiting`);
	}

	/** From a served connection: it closed. */
	private closed(connection: TcpEndpoint, cause: CloseCause, reason: string, error?: unknown): void {
		if (!this.servedEndpoints.delete(connection)) return;
		if (error) this.log.error(`serving ${connection.peer} failed: ${(error as Error)?.message ?? error}`);
		const summary = connection.handler?.summary?.(connection);
		this.log.info(`Connection closed: ${connection.peer}${summary ? `, ${summary}` : ""} (${reason})`);
		if (!this.refill) return;
		this.pruneWaiting();
		const waiting = this.waitingQueue.shift();
		if (waiting) {
			this.log.info(`Slot free: serving waiting ${waiting.peer}`);
			this.serve(waiting.from, waiting.peer);
		}
		if (!this.servedEndpoints.size) this.stopSweep(); // nothing to sweep: no timer while idle
	}

	private stopSweep(): void {
		Timer.clear(this.sweepTimer);
		this.sweepTimer = undefined;
	}

	/** Drop waiting connections whose peer is gone. */
	private pruneWaiting(): void {
		this.waitingQueue = this.waitingQueue.filter(waiting => {
			if (socketAlive(waiting.from)) return true;
			closeQuietly(waiting.from);
			this.log.info(`Connection closed: ${waiting.peer}, gone while waiting for a slot`);
			return false;
		});
	}

	private idlest(): TcpEndpoint | undefined {
		let idlest: TcpEndpoint | undefined;
		for (const connection of this.servedEndpoints) if (!idlest || connection.lastActivity < idlest.lastActivity) idlest = connection;
		return idlest;
	}

	private serve(from: TCP, peer: string): void {
		let connection: TcpEndpoint | undefined;
		try {
			connection = new TcpEndpoint({ from, peer, owner: this.hooks });
			connection.handler = this.options.service.open(connection);
			this.servedEndpoints.add(connection);
			this.sweepTimer ??= repeatFor(this.hooks, sweepInterval(this.options.idleTimeout));
			this.log.info(`Socket accepted ip address: ${peer}`);
		} catch (e) {
			if (!connection && !socketAlive(from)) {
				// lwip: a peer that reset between the accept and now leaves a socket without a connection ("invalid from").
				closeQuietly(from);
				this.log.info(`Connection closed: ${peer}, gone before it was served`);
				return;
			}
			this.log.error(`serving ${peer} failed: ${(e as Error).message}`);
			if (connection) connection.close(CloseCause.ERROR, "error");
			else closeQuietly(from);
		}
	}

	/** Close connections idle past the timeout, and those the platform went quiet on whose peer is gone. */
	private sweep(): void {
		const { idleTimeout } = this.options;
		const now = Date.now();
		for (const connection of [...this.servedEndpoints]) {
			if (idleTimeout > 0 && now - connection.lastActivity > idleTimeout) connection.close(CloseCause.IDLE, `idle for ${idleTimeout} ms`);
			else connection.check(now);
		}
		if (this.waitingQueue.length) this.pruneWaiting();
	}
}
