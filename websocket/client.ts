/*
 * WebSocket client (RFC 6455) on the ECMA-419 TCP socket, in the spirit of
 * ESP-IDF's esp_websocket_client: event callbacks, messages sent whole or in
 * pieces, ping/pong keep-alive and automatic reconnection.
 *
 * - Opening (4.1): a fresh Sec-WebSocket-Key per attempt; the response must
 *   be 101 with the matching Sec-WebSocket-Accept (validateUpgradeResponse).
 *   networkTimeout bounds DNS + connect + handshake.
 * - Every frame is masked with a fresh key (5.3, FrameWriter client role).
 * - Sending: messages wait in a queue bounded by maxQueue bytes and leave as
 *   frames of at most sendBuffer payload bytes (a longer message is
 *   fragmented, 5.4), each frame built only when the write budget frees up.
 *   A full queue refuses the message (false); onDrain follows when it empties.
 * - Receiving: whole messages up to maxMessage (1009 beyond, 10.4).
 * - Keep-alive: a Ping every pingInterval; no Pong for pongTimeout drops the
 *   connection. Unless close() was called, a lost connection is retried after
 *   initialDelay, doubling up to maxDelay (reconnect: false turns this off).
 *   The delay starts over only once a connection has shown a working server
 *   (a message or a Pong received): a server that completes the handshake
 *   and then breaks the protocol or drops the connection, every time, is
 *   backed off like one that refuses connections.
 */

import { Backoff } from "modules/backoff";
import { clockWait } from "modules/clock";
import { Log } from "modules/log";
import { resolveHost } from "modules/resolve";
import type { TlsOptions } from "modules/secure-socket";
import { CloseCause } from "tcp/close-cause";
import { quietLimit } from "tcp/connection";
import Timer from "timer";
import { type ConnectionOwner, OPEN, type SendData, WebSocketEndpoint, type WebSocketHandler } from "websocket/connection";
import { CloseCode, type MessageType, Opcode } from "websocket/constants";
import { generateKey, ResponseHeadParser, upgradeRequest, validateUpgradeResponse } from "websocket/handshake";
import { parseWebSocketUri, type WebSocketTarget as Target } from "websocket/uri";
import { isValidCloseCode } from "websocket/validation";

export interface ReconnectOptions {
	/** First retry delay (ms), doubled after each failed attempt. Default 1000. */
	initialDelay?: number;
	/** Longest retry delay (ms). Default 30000. */
	maxDelay?: number;
	/** Reconnections tried after consecutive failures before giving up; 0 = never give up (default). */
	maxAttempts?: number;
}

export interface WebSocketClientOptions {
	/** "ws://host[:port][/path][?query]"; host a dotted IPv4 address or a name (resolved with Net.resolve). */
	uri: string;
	/** Subprotocols offered (Sec-WebSocket-Protocol). */
	protocols?: string[];
	/** Largest message received (1009 beyond); held whole, so mind the heap. Default 8192. */
	maxMessage?: number;
	/** Largest frame payload sent; longer messages are fragmented. Each frame is masked as a copy (5.3): this bounds the copy. 0: no limit. Default 1024. */
	sendBuffer?: number;
	/** Bytes that may wait to be sent; a message that does not fit is refused (one of any size fits an empty queue). Default 8192. */
	maxQueue?: number;
	/** Ping interval (ms); 0 = no pings. Default 10000. */
	pingInterval?: number;
	/** Drop the connection when no Pong came for this long (ms). Default 120000. */
	pongTimeout?: number;
	/** DNS + connect + handshake must complete within this (ms). Default 10000. */
	networkTimeout?: number;
	/** Reconnect after a lost connection (not after close()). Default {} (1000 ms doubling to 30000 ms, forever). */
	reconnect?: ReconnectOptions | false;
	/** Wait this long for the server's Close and TCP close (ms). Default 3000. */
	closeTimeout?: number;
	/** wss://: the CA (DER) that must have issued the server's certificate (modules/secure-socket loadCa). Required for wss://. */
	ca?: ArrayBuffer;
	/** wss://: while the clock was never set (modules/clock), wait this long for it (SNTP) before connecting (ms). Default 30000. */
	clockWait?: number;
	/** Where the client and its connections log. Default a Log tagged logTag. */
	log?: Log;
	/** The tag of the default log. Default "ws-client". */
	logTag?: string;
}

/** A received message, always whole. */
export interface WebSocketDataEvent {
	/** Opcode.TEXT (1) or Opcode.BINARY (2). */
	opcode: number;
	/** The message (text as UTF-8: String.fromArrayBuffer(data)). */
	data: ArrayBuffer;
}

interface Settings {
	protocols: string[];
	maxMessage: number;
	sendBuffer: number;
	maxQueue: number;
	pingInterval: number;
	pongTimeout: number;
	networkTimeout: number;
	reconnect: Required<ReconnectOptions> | false;
	closeTimeout: number;
	clockWait: number;
}

export class WebSocketClient {
	/** The handshake completed: messages may be sent. */
	onConnected?: () => void;
	/** A whole message arrived. */
	onData?: (event: WebSocketDataEvent) => void;
	/** The connection (or an attempt) ended without a completed closing handshake. */
	onDisconnected?: (reason: string) => void;
	/** Something failed: handshake, protocol, DNS, timeout, unsupported URI. */
	onError?: (error: Error) => void;
	/** The closing handshake completed (either side started it): the peer's code (1005: none) and reason. */
	onClosed?: (code: number, reason: string) => void;
	/** The send queue emptied after a send was refused. */
	onDrain?: () => void;

	readonly uri: string;
	readonly settings: Settings;
	readonly log: Log;
	/** Subprotocol the server selected, if any. */
	protocol: string | undefined;

	readonly target: Target;
	/** wss://: SNI name and CA for the socket (modules/secure-socket). */
	readonly tls: TlsOptions | undefined;
	private connection: WebSocketEndpoint | undefined;
	/** While connected: the connection check every quietLimit ms, and the pings. */
	private ticker: Timer | undefined;
	private nextPing = Infinity;
	/** Network timeout during an attempt, backoff between attempts. */
	private timer: Timer | undefined;
	private running = false;
	/** Between attempts; reset once a connection has shown a working server. */
	private readonly backoff: Backoff | undefined;
	/** Counts attempts, so a late DNS answer for an abandoned one is ignored. */
	private generation = 0;
	/** A send was refused: onDrain follows when the queue empties. */
	private refused = false;
	/** wss://: ms waited so far for the clock since connect() (modules/clock). */
	private clockWaited = 0;
	/**
	 * What an attempt reports, handed to each one instead of the client: one
	 * object per client, of a class that implements AttemptEvents (so a hook
	 * renamed on either side is a type error) and, written inside this
	 * class, may call the client's private methods, which stay off its
	 * public type. Prototype methods and one field: no closures.
	 */
	private static readonly Events = class implements AttemptEvents {
		constructor(readonly client: WebSocketClient) {}
		opened(connection: WebSocketEndpoint): void {
			this.client.opened(connection);
		}
		closed(connection: WebSocketEndpoint, reason: string): void {
			this.client.closed(connection, reason);
		}
		healthy(connection: WebSocketEndpoint): void {
			this.client.healthy(connection);
		}
		message(connection: WebSocketEndpoint, opcode: number, data: ArrayBuffer): void {
			this.client.message(connection, opcode, data);
		}
		error(connection: WebSocketEndpoint, message: string): void {
			this.client.error(connection, message);
		}
		drained(connection: WebSocketEndpoint): void {
			this.client.drained(connection);
		}
	};
	private readonly events = new WebSocketClient.Events(this);

	constructor(options: WebSocketClientOptions) {
		this.uri = options.uri;
		this.log = options.log ?? new Log(options.logTag ?? "ws-client");
		this.target = parseWebSocketUri(options.uri);
		// TLS is never unverified: wss:// without a CA is refused here, not connected to.
		if (this.target.secure && !options.ca) throw new Error(`${options.uri}: wss:// needs the CA that issued the server's certificate (ca, wsClientCa)`);
		this.tls = this.target.secure ? { serverName: this.target.host, ca: options.ca! } : undefined;
		const reconnect = options.reconnect;
		this.settings = {
			protocols: options.protocols ?? [],
			maxMessage: options.maxMessage ?? 8192,
			sendBuffer: Math.max(0, options.sendBuffer ?? 1024),
			maxQueue: options.maxQueue ?? 8192,
			pingInterval: options.pingInterval ?? 10000,
			pongTimeout: options.pongTimeout ?? 120000,
			networkTimeout: options.networkTimeout ?? 10000,
			reconnect:
				reconnect === false
					? false
					: {
							initialDelay: reconnect?.initialDelay ?? 1000,
							maxDelay: reconnect?.maxDelay ?? 30000,
							maxAttempts: reconnect?.maxAttempts ?? 0,
						},
			closeTimeout: options.closeTimeout ?? 3000,
			clockWait: options.clockWait ?? 30000,
		};
		const retry = this.settings.reconnect;
		if (retry)
			// maxAttempts counts reconnections: the first attempt is not one of them.
			this.backoff = new Backoff({ initial: retry.initialDelay, max: retry.maxDelay, maxAttempts: retry.maxAttempts ? retry.maxAttempts + 1 : 0 });
	}

	/** Whether the handshake completed and no Close was sent or received yet. */
	get isConnected(): boolean {
		return this.connection?.state === OPEN;
	}

	/** Bytes accepted by send*() and not yet written to the socket. */
	get bufferedAmount(): number {
		return this.connection?.bufferedAmount ?? 0;
	}

	/** Connect (and keep reconnecting until close()). No effect while already running. */
	connect(): void {
		if (this.running) return;
		this.running = true;
		this.backoff?.reset();
		this.clockWaited = 0;
		this.attempt();
	}

	/**
	 * Close (7.1.2): send a Close with code and reason, wait up to closeTimeout
	 * for the server's Close and TCP close, then close TCP. No reconnection follows.
	 */
	close(code: number = CloseCode.NORMAL, reason = ""): void {
		if (!isValidCloseCode(code)) throw new RangeError(`close code ${code} cannot be sent`);
		this.running = false;
		this.clearTimer();
		this.connection?.close(code, reason);
	}

	/** Send a text message; false when not connected or the queue is full. */
	sendText(text: string): boolean {
		return this.send(Opcode.TEXT, text, true);
	}

	/** Send a binary message; false when not connected or the queue is full. The buffer must not change until sent (bufferedAmount). */
	sendBinary(data: ArrayBuffer | Uint8Array): boolean {
		return this.send(Opcode.BINARY, data, true);
	}

	/**
	 * Send the next piece of a message (WebSocketConnection.sendPiece, the
	 * same rule): the first piece's type is the message's, later pieces
	 * continue it whatever their type, `last` ends it; a whole message sent
	 * meanwhile waits for the last piece (5.4: messages never interleave).
	 * False when not connected or the queue is full.
	 */
	sendPiece(type: MessageType, data: SendData, last: boolean): boolean {
		return this.send(type, data, last, true);
	}

	private send(type: MessageType, data: SendData, last: boolean, piece = false): boolean {
		const connection = this.connection;
		if (!connection || connection.state !== OPEN) return false;
		const sent = piece
			? connection.sendPiece(type, data, last)
			: type === Opcode.TEXT
				? connection.sendText(data as string)
				: connection.sendBinary(data as ArrayBuffer | Uint8Array);
		if (!sent) this.refused = true;
		return sent;
	}

	/* ------------------------------------------------------------ connecting */

	private attempt(): void {
		// Certificate dates are judged by the device's clock: a board's reads 1970 until SNTP sets it.
		const wait = this.tls ? clockWait(this.clockWaited, this.settings.clockWait, this.log, this.uri) : 0;
		if (wait > 0) {
			this.clockWaited += wait;
			this.setTimer(wait, () => this.attempt());
			return;
		}
		const generation = ++this.generation;
		const target = this.target;
		this.setTimer(this.settings.networkTimeout, () => this.timedOut());
		this.log.info(`Connecting to ${this.uri}`);
		// "localhost" is the loopback (RFC 6761 6.3); the simulator's resolver may answer ::1 only.
		const host = target.host === "localhost" ? "127.0.0.1" : target.host;
		try {
			resolveHost(host, address => {
				try {
					if (generation !== this.generation || !this.running) return;
					if (address) this.open(address);
					else this.failedAttempt(`DNS lookup failed for ${host}`);
				} catch (e) {
					this.log.error(`after resolving ${host}: ${(e as Error).message}`);
				}
			});
		} catch (e) {
			this.failedAttempt(`DNS lookup failed for ${target.host}: ${(e as Error).message}`);
		}
	}

	private open(address: string): void {
		try {
			this.connection = new ClientAttempt(this, this.events, address).connection;
		} catch (e) {
			this.failedAttempt(`cannot connect to ${address}:${this.target.port}: ${(e as Error).message}`);
		}
	}

	private timedOut(): void {
		const connection = this.connection;
		const message = connection?.established
			? `no answer to the handshake from ${this.uri} within ${this.settings.networkTimeout} ms`
			: `no connection to ${this.uri} within ${this.settings.networkTimeout} ms`;
		this.log.warn(message);
		this.emit("onError", new Error(message));
		if (connection)
			connection.destroy(CloseCause.TIMEOUT, "network timeout"); // → closed → reconnect
		else this.failedAttempt("network timeout", false);
	}

	/** An attempt failed before a connection existed (DNS, invalid address). */
	private failedAttempt(message: string, report = true): void {
		this.log.error(message);
		if (report) this.emit("onError", new Error(message));
		this.emit("onDisconnected", message);
		this.retry();
	}

	// What an attempt reports (AttemptEvents, through `events`): TypeScript
	// `private`, for the attempt to call, not the application.

	/** The handshake completed. */
	private opened(connection: WebSocketEndpoint): void {
		if (connection !== this.connection) return;
		this.clearTimer();
		this.protocol = connection.protocol;
		const ping = this.settings.pingInterval;
		this.nextPing = ping > 0 ? Date.now() + ping : Infinity;
		this.ticker = Timer.repeat(() => this.tick(), ping > 0 ? Math.min(quietLimit, ping) : quietLimit);
		this.log.info(`Connected to ${this.uri}${this.protocol ? `, protocol ${this.protocol}` : ""}`);
		this.emit("onConnected");
	}

	/** The connection (or an attempt) ended. */
	private closed(connection: WebSocketEndpoint, reason: string): void {
		if (connection !== this.connection) return;
		this.connection = undefined;
		this.refused = false;
		this.clearTimer();
		if (this.ticker) Timer.clear(this.ticker);
		this.ticker = undefined;
		if (connection.closeSent && connection.closeCode !== undefined) this.emit("onClosed", connection.closeCode, connection.closeReason);
		else this.emit("onDisconnected", reason);
		this.retry();
	}

	/** Schedule the next attempt with capped exponential backoff, unless stopped. */
	private retry(): void {
		const reconnect = this.settings.reconnect;
		if (!this.running) return;
		if (!reconnect) {
			this.running = false;
			return;
		}
		const backoff = this.backoff!;
		const delay = backoff.next();
		if (delay === undefined) {
			this.running = false;
			const message = `giving up on ${this.uri} after ${reconnect.maxAttempts} attempts`;
			this.log.error(message);
			this.emit("onError", new Error(message));
			return;
		}
		this.log.info(`Reconnecting in ${delay} ms (attempt ${backoff.attempts})`);
		this.setTimer(delay, () => this.attempt());
	}

	private setTimer(milliseconds: number, callback: () => void): void {
		this.clearTimer();
		if (!(milliseconds > 0)) return;
		this.timer = Timer.set(() => {
			this.timer = undefined;
			try {
				if (this.running) callback();
			} catch (e) {
				this.log.error(`${this.uri}: ${(e as Error).message}`);
			}
		}, milliseconds);
	}

	private clearTimer(): void {
		if (this.timer) Timer.clear(this.timer);
		this.timer = undefined;
	}

	/** Call an app callback; what it throws is logged, never reaches the platform. */
	private emit<K extends "onConnected" | "onData" | "onDisconnected" | "onError" | "onClosed" | "onDrain">(
		name: K,
		...args: Parameters<NonNullable<WebSocketClient[K]>>
	): void {
		const callback = this[name] as ((...a: unknown[]) => void) | undefined;
		if (!callback) return;
		try {
			callback.apply(this, args);
		} catch (e) {
			this.log.error(`${name} threw: ${(e as Error)?.message ?? e}`);
		}
	}

	/** A Pong: the server works (the backoff starts over). */
	private healthy(connection: WebSocketEndpoint): void {
		if (connection === this.connection) this.backoff?.reset();
	}

	/** A message: the server works too. */
	private message(connection: WebSocketEndpoint, opcode: number, data: ArrayBuffer): void {
		if (connection !== this.connection) return;
		this.backoff?.reset();
		this.emit("onData", { opcode, data });
	}

	private error(connection: WebSocketEndpoint, message: string): void {
		if (connection === this.connection) this.emit("onError", new Error(message));
	}

	private drained(connection: WebSocketEndpoint): void {
		if (connection === this.connection && this.refused) {
			this.refused = false;
			this.emit("onDrain");
		}
	}

	/** Every quietLimit ms while connected: the connection check, and the pings (pongTimeout). */
	private tick(): void {
		const connection = this.connection;
		if (!connection) return;
		const now = Date.now();
		connection.check(now);
		if (now < this.nextPing || connection.state !== OPEN) return;
		const settings = this.settings;
		this.nextPing = now + settings.pingInterval;
		const since = connection.pingSentAt;
		if (since && now - since >= settings.pongTimeout) {
			const message = `no pong from ${connection.peer} for ${now - since} ms`;
			this.log.warn(message);
			this.emit("onError", new Error(message));
			connection.destroy(CloseCause.TIMEOUT, "pong timeout");
			return;
		}
		connection.ping();
	}
}

/** What a ClientAttempt tells its client. */
interface AttemptEvents {
	opened(connection: WebSocketEndpoint): void;
	closed(connection: WebSocketEndpoint, reason: string): void;
	healthy(connection: WebSocketEndpoint): void;
	message(connection: WebSocketEndpoint, opcode: number, data: ArrayBuffer): void;
	error(connection: WebSocketEndpoint, message: string): void;
	drained(connection: WebSocketEndpoint): void;
}

/**
 * One connection attempt: the owner of its WebSocketEndpoint (the opening
 * handshake, 4.1) and then its handler, reporting to the client.
 */
class ClientAttempt implements ConnectionOwner, WebSocketHandler {
	readonly connection: WebSocketEndpoint;
	private readonly client: WebSocketClient;
	/** What the client is told (WebSocketClient.events). */
	private readonly events: AttemptEvents;
	private readonly key = generateKey();
	private head: ResponseHeadParser | undefined = new ResponseHeadParser();
	/** Why we failed the connection, if we did: what onDisconnected reports. */
	private failure: string | undefined;

	constructor(client: WebSocketClient, events: AttemptEvents, address: string) {
		this.client = client;
		this.events = events;
		this.connection = new WebSocketEndpoint(
			{ address, port: client.target.port, tls: client.tls },
			{
				role: "client",
				log: client.log,
				owner: this,
				closeTimeout: client.settings.closeTimeout,
				// Whole messages are held anyway; a larger read takes fewer turns.
				readSize: 4096,
			},
		);
	}

	connected(connection: WebSocketEndpoint): void {
		const client = this.client,
			target = client.target;
		connection.sendRaw(
			ArrayBuffer.fromString(
				upgradeRequest({
					host: target.hostHeader,
					path: target.path,
					key: this.key,
					protocols: client.settings.protocols,
				}),
			),
		);
	}

	received(connection: WebSocketEndpoint, chunk: ArrayBuffer): void {
		const parser = this.head!;
		if (!parser.feed(chunk)) return;
		this.head = undefined;
		const client = this.client,
			settings = client.settings;
		// The parser's error status is what a server would answer; for a client the answer simply is not HTTP.
		const result = parser.error
			? { ok: false as const, message: `the answer is not HTTP (${parser.error.message})` }
			: validateUpgradeResponse(parser.head!, this.key, settings.protocols);
		if (!result.ok) {
			const message = `handshake with ${connection.peer} failed: ${result.message}`;
			client.log.error(message);
			this.events.error(connection, message);
			connection.destroy(CloseCause.REFUSED, "handshake failed");
			return;
		}
		connection.open({
			role: "client",
			handler: this,
			streaming: false,
			maxMessage: settings.maxMessage,
			sendBuffer: settings.sendBuffer,
			maxQueue: settings.maxQueue,
			protocol: result.protocol,
		});
		this.events.opened(connection);
		if (parser.rest && connection.state === OPEN) connection.received(parser.rest);
	}

	closed(connection: WebSocketEndpoint, cause: CloseCause, reason: string): void {
		this.head = undefined;
		// Refused, unreachable, TLS refused: an attempt that failed, as a failed DNS lookup is (onError, then onDisconnected).
		if (cause === CloseCause.CONNECT_FAILED) this.events.error(connection, `no connection to ${connection.peer}: ${reason}`);
		this.events.closed(connection, this.failure ?? reason);
	}

	onMessage(connection: WebSocketEndpoint, type: number, data: ArrayBuffer): void {
		this.events.message(connection, type, data);
	}

	onPong(connection: WebSocketEndpoint): void {
		this.events.healthy(connection);
	}

	onDrain(connection: WebSocketEndpoint): void {
		this.events.drained(connection);
	}

	onProtocolError(connection: WebSocketEndpoint, closeCode: number, reason: string): void {
		this.failure = `protocol error: ${reason} (close ${closeCode})`;
		this.events.error(connection, `protocol error from ${connection.peer}: ${reason} (close ${closeCode})`);
	}
}
