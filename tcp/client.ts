/*
 * TCP client with reconnect, for any service: connects to host:port, hands
 * the connection to a handler the service makes (tcp/connection), and when
 * it fails or ends connects again after a capped exponential backoff
 * (modules/backoff), forever or up to `maxAttempts` consecutive failures.
 * ECMA-419's onError carries no cause, so the log says what can be known:
 * whether the connection had been established and what it carried.
 *
 * What counts as a failure: a connection that never came up, and one that
 * ended without doing its work (the handler's `succeeded`; by default,
 * without receiving a byte): a peer that accepts and resets or closes at
 * once, every time, is backed off like one that refuses. The backoff
 * starts over only after a connection that did its work.
 *
 * A peer that accepts and then never reads nor answers cannot be told from
 * a quiet one, and TCP keepalive cannot be set through ECMA-419 sockets
 * (see the README's "Dead peers"): as the server does, a connection that
 * moved no byte either way for `idleTimeout` ms is closed and retried, and
 * one the platform went quiet on is probed (tcp/connection).
 *
 * One timer per client: the connect timeout, then the idle check, then the
 * delay before the next attempt.
 */

import { Backoff } from "modules/backoff";
import { clockWait } from "modules/clock";
import { Log } from "modules/log";
import { resolveHost } from "modules/resolve";
import type { TlsOptions } from "modules/secure-socket";
import { CloseCause } from "tcp/close-cause";
import { sweepInterval, type TcpConnection, type TcpConnectionOwner, TcpEndpoint, type TcpService } from "tcp/connection";
import Timer from "timer";

export interface TcpClientOptions {
	/** The server: a dotted IPv4 address or a name (resolved with Net.resolve). */
	host: string;
	port: number;
	/** Makes the handler of each connection. */
	service: TcpService;
	/** ms for a connection to come up; 0: the platform's own. Default 5000. */
	connectTimeout?: number;
	/** Close (and retry) a connection that moved no byte either way for this long (ms); 0: never. Default 0. */
	idleTimeout?: number;
	/** Delay after the first failure (ms), doubled after each. Default 1000. */
	retryDelay?: number;
	/** The longest delay (ms). Default 30000. */
	retryMaxDelay?: number;
	/** Consecutive failed attempts before giving up; 0: never give up. Default 0. */
	maxAttempts?: number;
	/** Where the client and its connections' handlers log. Default a Log tagged logTag. */
	log?: Log;
	/** Tag of the client's log lines, when no log is given. Default "tcp-client". */
	logTag?: string;
	/** Connect over TLS: SNI name and the CA that must vouch for the server (modules/secure-socket). */
	tls?: TlsOptions;
	/** With tls: while the clock was never set (modules/clock), wait this long for it (SNTP) before connecting (ms). Default 30000. */
	clockWait?: number;
}

export class TcpClient {
	// The hooks the library calls (the connections' connected and closed)
	// are TypeScript `private`, off the client's public type. Connections get
	// `hooks` instead of the client: one object per client, of a class that
	// implements TcpConnectionOwner (so a hook renamed on either side is a
	// type error) and, written inside this class, may call its private
	// methods. Prototype methods and one field: no closures.
	private static readonly Hooks = class implements TcpConnectionOwner {
		constructor(readonly client: TcpClient) {}
		get log(): Log {
			return this.client.log;
		}
		connected(connection: TcpEndpoint): void {
			this.client.connected(connection);
		}
		closed(connection: TcpEndpoint, cause: CloseCause, reason: string): void {
			this.client.closed(connection, cause, reason);
		}
	};
	readonly options: Required<Omit<TcpClientOptions, "logTag" | "tls">> & { tls?: TlsOptions };
	readonly log: Log;
	private readonly hooks = new TcpClient.Hooks(this);
	/** Connections established so far. */
	sessions = 0;
	private backoff: Backoff;
	private endpoint: TcpEndpoint | undefined;
	private timer: Timer | undefined;
	private stopped = true;
	/** With tls: ms waited so far for the clock since start() (modules/clock). */
	private clockWaited = 0;

	constructor(options: TcpClientOptions) {
		this.log = options.log ?? new Log(options.logTag ?? "tcp-client");
		const settings = (this.options = {
			host: options.host,
			port: options.port,
			service: options.service,
			connectTimeout: options.connectTimeout ?? 5000,
			idleTimeout: options.idleTimeout ?? 0,
			retryDelay: options.retryDelay ?? 1000,
			retryMaxDelay: options.retryMaxDelay ?? 30000,
			maxAttempts: options.maxAttempts ?? 0,
			log: this.log,
			tls: options.tls,
			clockWait: options.clockWait ?? 30000,
		});
		this.backoff = new Backoff({ initial: settings.retryDelay, max: settings.retryMaxDelay, maxAttempts: settings.maxAttempts });
	}

	/** Whether a connection is open now. */
	get isConnected(): boolean {
		return this.endpoint?.state === "open";
	}

	/** The connection now, if one is open or coming up. */
	get connection(): TcpConnection | undefined {
		return this.endpoint;
	}

	/** Connect, and keep connecting (a client running already is left as it is). */
	start(): void {
		if (!this.stopped) return;
		this.stopped = false;
		this.backoff.reset();
		this.clockWaited = 0;
		this.attempt();
	}

	stop(): void {
		this.stopped = true;
		this.clearTimer();
		const connection = this.endpoint;
		this.endpoint = undefined;
		connection?.close(CloseCause.LOCAL, "stopped");
	}

	private clearTimer(): void {
		Timer.clear(this.timer);
		this.timer = undefined;
	}

	private attempt(): void {
		const { host } = this.options;
		// Certificate dates are judged by the device's clock: a board's reads 1970 until SNTP sets it.
		const wait = this.options.tls ? clockWait(this.clockWaited, this.options.clockWait, this.log, `${host}:${this.options.port}`) : 0;
		if (wait > 0) {
			this.clockWaited += wait;
			this.timer = Timer.set(() => {
				this.timer = undefined;
				this.attempt();
			}, wait);
			return;
		}
		resolveHost(host, address => {
			if (this.stopped) return;
			if (address) this.open(address);
			else this.failed(`cannot resolve ${host}`);
		});
	}

	private open(address: string): void {
		const { port, connectTimeout } = this.options;
		this.log.info(`Connecting to ${address}:${port} (attempt ${this.backoff.attempts + 1})`);
		let connection: TcpEndpoint;
		try {
			connection = new TcpEndpoint({ address, port, tls: this.options.tls, owner: this.hooks });
			connection.handler = this.options.service.open(connection);
		} catch (e) {
			this.failed(`socket error: ${(e as Error).message}`, `${address}:${port}`);
			return;
		}
		this.endpoint = connection;
		if (connectTimeout > 0) {
			this.timer = Timer.set(() => {
				this.timer = undefined;
				if (connection.state === "connecting") connection.close(CloseCause.CONNECT_FAILED, `connect timed out after ${connectTimeout} ms`);
			}, connectTimeout);
		}
	}

	/** From the connection: it is up. */
	private connected(connection: TcpEndpoint): void {
		this.clearTimer();
		this.sessions++;
		this.log.info(`Successfully connected to ${connection.peer}`);
		const { idleTimeout } = this.options;
		this.timer = Timer.repeat(() => this.check(connection, idleTimeout), sweepInterval(idleTimeout));
	}

	/** An idle connection is closed; one that cannot hear its peer is gone is asked (tcp/connection). */
	private check(connection: TcpEndpoint, idleTimeout: number): void {
		if (idleTimeout > 0 && Date.now() - connection.lastActivity >= idleTimeout) connection.close(CloseCause.IDLE, `nothing moved for ${idleTimeout} ms`);
		else connection.check(Date.now());
	}

	/** From the connection: it closed. */
	private closed(connection: TcpEndpoint, cause: CloseCause, reason: string): void {
		if (connection !== this.endpoint) return;
		this.endpoint = undefined;
		this.clearTimer();
		if (this.stopped) return;
		if (connection.established) {
			// Worded as the ESP-IDF example's log says it.
			const said = cause === CloseCause.PEER_CLOSED ? "connection closed by peer or reset" : reason;
			const summary = connection.handler?.summary?.(connection);
			this.log.warn(`Connection to ${connection.peer} ended: ${said}${summary ? `, ${summary}` : ""}`);
			if (connection.handler?.succeeded?.(connection) ?? connection.bytesRead > 0) this.backoff.reset(); // only a connection that did its work starts the backoff over
		} else this.log.warn(`Connection to ${connection.peer} failed: ${reason}`);
		this.retry();
	}

	/** An attempt failed before it had a connection. */
	private failed(reason: string, peer = this.options.host): void {
		if (this.stopped) return;
		this.endpoint = undefined;
		this.clearTimer();
		this.log.warn(`Connection to ${peer} failed: ${reason}`);
		this.retry();
	}

	private retry(): void {
		const delay = this.backoff.next();
		if (delay === undefined) {
			this.log.error(`giving up after ${this.backoff.attempts} failed attempts`);
			return;
		}
		this.log.info(`Reconnecting in ${delay} ms`);
		this.timer = Timer.set(() => {
			this.timer = undefined;
			this.attempt();
		}, delay);
	}
}
