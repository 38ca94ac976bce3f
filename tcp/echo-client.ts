/*
 * TCP echo client, after the ESP-IDF tcp_client example: connects to a
 * configured host:port, sends "Hello World!", then echoes back everything
 * it receives, byte-exact and flow-controlled (tcp/echo-stream).
 *
 * A refused, reset, timed-out or closed connection is logged and retried
 * with capped exponential backoff, forever or up to `maxAttempts`
 * consecutive failures. ECMA-419's onError carries no cause, so the log
 * says what can be known: whether the connection had been established and
 * how much it carried. Over TLS (options.tls, modules/secure-socket) the
 * socket passes the cause (a certificate refused, a failed handshake).
 *
 * What counts as a failure: a connection that never came up, and one that
 * ended before it echoed a single byte (a peer that accepts and resets or
 * closes at once, every time, is backed off like one that refuses). The
 * backoff starts over only after a connection that did its work.
 *
 * A peer that accepts and then never reads nor answers cannot be told from
 * a quiet one, and TCP keepalive cannot be set through ECMA-419 sockets
 * (see the README's "Dead peers"): as the echo server does, a connection
 * that moved no byte either way for `idleTimeout` ms is closed and retried.
 */

import { openSocket, type TlsOptions } from "modules/secure-socket";
import Timer from "timer";
import Net from "net";
import { Log } from "modules/log";
import { EchoStream, quietLimit } from "tcp/echo-stream";

const log = new Log("tcp-client");

export const greeting = "Hello World!";

export interface EchoClientOptions {
	host: string;
	port: number;
	connectTimeout: number;
	retryDelay: number;
	retryMaxDelay: number;
	/** Consecutive failed attempts before giving up; 0: never give up. */
	maxAttempts: number;
	chunk: number;
	/** Close (and retry) a connection that moved no byte either way for this long (ms); 0: never. Default: the tcpIdleTimeout key. */
	idleTimeout?: number;
	/** Connect over TLS: SNI name and CA (modules/secure-socket). */
	tls?: TlsOptions;
}

/** How often a live connection is checked for idleness and, when stalled, probed (ms). */


/** What an exception in a socket callback says, prefixed with what was being done unless it says so already. */
function cause(e: unknown, doing: "read" | "write"): string {
	const message = String((e as Error)?.message ?? e);
	return /^(read|write) failed/.test(message) ? message : `${doing} failed: ${message}`;
}

const dottedQuad = /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;

export class EchoClient {
	readonly options: EchoClientOptions;
	/** Connections established so far. */
	sessions = 0;
	#stream: EchoStream | undefined;
	#connected = false;
	#greeted = false;
	#failures = 0;
	#timer: Timer | undefined;
	#checkTimer: Timer | undefined;
	#stopped = false;

	constructor(options: EchoClientOptions) {
		this.options = options;
	}

	get connected(): boolean {
		return this.#connected;
	}

	start(): void {
		this.#stopped = false;
		this.#failures = 0;
		this.#attempt();
	}

	stop(): void {
		this.#stopped = true;
		Timer.clear(this.#timer);
		this.#timer = undefined;
		this.#drop();
	}

	#attempt(): void {
		const { host, port } = this.options;
		if (dottedQuad.test(host)) {
			this.#open(host);
			return;
		}
		// The simulator's TCP socket takes a dotted IPv4 address only: resolve names first.
		Net.resolve(host, (_name: string, address?: string) => {
			if (this.#stopped)
				return;
			if (address)
				this.#open(address);
			else
				this.#failed(`cannot resolve ${host}`);
		});
	}

	#open(address: string): void {
		const { port, connectTimeout, chunk } = this.options;
		const stream = new EchoStream(log, `${address}:${port}`, chunk);
		this.#stream = stream;
		this.#connected = false;
		this.#greeted = false;
		log.info(`Connecting to ${stream.peer} (attempt ${this.#failures + 1})`);
		const client = this;
		try {
			stream.socket = openSocket({
				address,
				port,
				tls: this.options.tls,
				onWritable(bytes: number) {
					try {
						client.#writable(stream, bytes);
					}
					catch (e) {
						client.#failed(cause(e, "write"));
					}
				},
				onReadable(bytes: number) {
					try {
						stream.readable(bytes);
					}
					catch (e) {
						client.#failed(cause(e, "read"));
					}
				},
				onError(error?: Error) {
					// A TLS socket says what failed (a certificate, the handshake); TCP says nothing.
					client.#failed(error?.message ?? (client.#connected ? "connection closed by peer or reset" : "connection refused or unreachable"));
				},
			});
		}
		catch (e) {
			this.#failed(`socket error: ${(e as Error).message}`);
			return;
		}
		if (connectTimeout > 0) {
			this.#timer = Timer.set(() => {
				this.#timer = undefined;
				if (!this.#connected)
					this.#failed(`connect timed out after ${connectTimeout} ms`);
			}, connectTimeout);
		}
	}

	#writable(stream: EchoStream, bytes: number): void {
		if (stream !== this.#stream)
			return;
		if (!this.#connected) {
			this.#connected = true;
			this.sessions++;
			Timer.clear(this.#timer);
			this.#timer = undefined;
			log.info(`Successfully connected to ${stream.peer}`);
			stream.lastActivity = Date.now();
			const idleTimeout = this.options.idleTimeout ?? 0;
			this.#checkTimer = Timer.repeat(() => this.#check(stream, idleTimeout),
				idleTimeout > 0 ? Math.min(quietLimit, Math.max(50, idleTimeout >> 2)) : quietLimit);
		}
		stream.writableBudget(bytes);
		if (!this.#greeted && stream.send(ArrayBuffer.fromString(greeting))) {
			this.#greeted = true;
			log.info(`Sent "${greeting}" to ${stream.peer}`);
		}
	}

	/** An idle connection is closed; a stalled echo cannot hear that its peer is gone (tcp/echo-stream): ask. */
	#check(stream: EchoStream, idleTimeout: number): void {
		if (stream !== this.#stream)
			return;
		if (idleTimeout > 0 && Date.now() - stream.lastActivity >= idleTimeout)
			this.#failed(`nothing moved for ${idleTimeout} ms`);
		else if (stream.quiet(Date.now()) && !stream.probe())
			this.#failed("peer gone (found by a probe)");
	}

	#drop(): void {
		Timer.clear(this.#checkTimer);
		this.#checkTimer = undefined;
		const stream = this.#stream;
		this.#stream = undefined;
		this.#connected = false;
		try {
			stream?.socket?.close();
		}
		catch {
			// already closed by the platform
		}
	}

	#failed(reason: string): void {
		if (this.#stopped)
			return;
		const stream = this.#stream;
		const wasConnected = this.#connected;
		this.#drop();
		Timer.clear(this.#timer);
		this.#timer = undefined;
		if (wasConnected)
			log.warn(`Connection to ${stream?.peer} ended: ${reason}, ${stream?.echoed ?? 0} bytes echoed`);
		else
			log.warn(`Connection to ${stream?.peer ?? this.options.host} failed: ${reason}`);
		// Only a connection that echoed something starts the backoff over.
		this.#failures = wasConnected && (stream?.echoed ?? 0) > 0 ? 1 : this.#failures + 1;
		const { maxAttempts, retryDelay, retryMaxDelay } = this.options;
		if (maxAttempts > 0 && this.#failures >= maxAttempts) {
			log.error(`giving up after ${this.#failures} failed attempts`);
			return;
		}
		const delay = Math.min(retryMaxDelay, retryDelay * 2 ** Math.min(16, this.#failures - 1));
		log.info(`Reconnecting in ${delay} ms`);
		this.#timer = Timer.set(() => {
			this.#timer = undefined;
			this.#attempt();
		}, delay);
	}
}
