/*
 * WebSocket client (RFC 6455) on the ECMA-419 TCP socket, in the spirit of
 * ESP-IDF's esp_websocket_client: event callbacks, partial/continuation/fin
 * sends, ping/pong keep-alive and automatic reconnection.
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

import Net from "net";
import Timer from "timer";
import { Log } from "modules/log";
import { CLOSED, CONNECTING, Connection, OPEN, quietLimit, type Chunk } from "websocket/connection";
import { CloseCode, Opcode } from "websocket/constants";
import { ResponseHeadParser, generateKey, upgradeRequest, validateUpgradeResponse } from "websocket/handshake";
import { isValidCloseCode } from "websocket/validation";
import { parseWebSocketUri, type WebSocketTarget as Target } from "modules/config-schema";
import type { TlsOptions } from "modules/secure-socket";

const log = new Log("ws-client");

/** Moddable's Net.resolve; spelled out because the host tsconfig also knows Node's "net". */
interface NetResolve {
	resolve(name: string, callback: (name: string, address?: string) => void): void;
}

export interface ReconnectOptions {
	/** First retry delay (ms), doubled after each failed attempt. Default 1000. */
	initialDelay?: number;
	/** Longest retry delay (ms). Default 30000. */
	maxDelay?: number;
	/** Consecutive failed attempts before giving up; 0 = never give up (default). */
	maxAttempts?: number;
}

export interface WebSocketClientOptions {
	/** "ws://host[:port][/path][?query]"; host a dotted IPv4 address or a name (resolved with Net.resolve). */
	uri: string;
	/** Subprotocols offered (Sec-WebSocket-Protocol). */
	protocols?: string[];
	/** Largest message received (1009 beyond). Default 65536. */
	maxMessage?: number;
	/** Largest frame payload sent; longer messages are fragmented. Default 1024. */
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
}

/** A received message; the fields after data follow esp_websocket_event_data_t. */
export interface WebSocketDataEvent {
	/** Opcode.TEXT (1) or Opcode.BINARY (2). */
	opcode: number;
	/** The whole message (text as UTF-8: String.fromArrayBuffer(data)). */
	data: ArrayBuffer;
	/** Length of the message. */
	payloadLength: number;
	/** Offset of data within the message: always 0, messages are delivered whole. */
	payloadOffset: number;
	/** Always true: data ends the message. */
	fin: boolean;
}

/** Data for send*(): bytes, or a string sent as UTF-8. */
export type SendData = ArrayBuffer | Uint8Array | string;

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
}


/** What a connection reports to its client. */
interface ClientContext {
	readonly settings: Settings;
	readonly target: Target;
	/** wss://: SNI name and CA for the socket (modules/secure-socket). */
	readonly tls: TlsOptions | undefined;
	opened(connection: ClientConnection): void;
	/** The server answered as a WebSocket server should (a message, a Pong). */
	healthy(connection: ClientConnection): void;
	message(connection: ClientConnection, type: number, data: ArrayBuffer): void;
	error(connection: ClientConnection, message: string): void;
	drained(connection: ClientConnection): void;
	ended(connection: ClientConnection, reason: string): void;
}

const EMPTY = new Uint8Array(0);

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
	/** Subprotocol the server selected, if any. */
	protocol: string | undefined;

	readonly #target: Target;
	readonly #context: ClientContext;
	#connection: ClientConnection | undefined;
	#tls: TlsOptions | undefined;
	/** Network timeout during an attempt, backoff between attempts. */
	#timer: Timer | undefined;
	#running = false;
	#attempts = 0;
	/** Counts attempts, so a late DNS answer for an abandoned one is ignored. */
	#generation = 0;
	/** A message begun with sendPartial() awaits sendFinal(). */
	#fragmenting = false;

	constructor(options: WebSocketClientOptions) {
		this.uri = options.uri;
		this.#target = parseWebSocketUri(options.uri);
		// TLS is never unverified: wss:// without a CA is refused here, not connected to.
		if (this.#target.secure && !options.ca)
			throw new Error(`${options.uri}: wss:// needs the CA that issued the server's certificate (ca, wsClientCa)`);
		this.#tls = this.#target.secure ? { serverName: this.#target.host, ca: options.ca! } : undefined;
		const reconnect = options.reconnect;
		this.settings = {
			protocols: options.protocols ?? [],
			maxMessage: options.maxMessage ?? 65536,
			sendBuffer: Math.max(1, options.sendBuffer ?? 1024),
			maxQueue: options.maxQueue ?? 8192,
			pingInterval: options.pingInterval ?? 10000,
			pongTimeout: options.pongTimeout ?? 120000,
			networkTimeout: options.networkTimeout ?? 10000,
			reconnect: reconnect === false ? false : {
				initialDelay: reconnect?.initialDelay ?? 1000,
				maxDelay: reconnect?.maxDelay ?? 30000,
				maxAttempts: reconnect?.maxAttempts ?? 0,
			},
			closeTimeout: options.closeTimeout ?? 3000,
		};
		const client = this;
		this.#context = {
			settings: this.settings,
			target: this.#target,
			tls: this.#tls,
			opened(connection) {
				if (connection === client.#connection)
					client.#opened(connection);
			},
			healthy(connection) {
				if (connection === client.#connection)
					client.#attempts = 0;
			},
			message(connection, opcode, data) {
				if (connection !== client.#connection)
					return;
				client.#attempts = 0;
				client.#emit("onData", { opcode, data, payloadLength: data.byteLength, payloadOffset: 0, fin: true });
			},
			error(connection, message) {
				if (connection === client.#connection)
					client.#emit("onError", new Error(message));
			},
			drained(connection) {
				if (connection === client.#connection)
					client.#emit("onDrain");
			},
			ended(connection, reason) {
				if (connection === client.#connection)
					client.#ended(connection, reason);
			},
		};
	}

	/** Whether the handshake completed and no Close was sent or received yet. */
	get isConnected(): boolean {
		return this.#connection?.state === OPEN;
	}

	/** Bytes accepted by send*() and not yet written to the socket. */
	get bufferedAmount(): number {
		return this.#connection?.bufferedAmount ?? 0;
	}

	/** Connect (and keep reconnecting until close()). No effect while already running. */
	connect(): void {
		if (this.#running)
			return;
		this.#running = true;
		this.#attempts = 0;
		this.#attempt();
	}

	/**
	 * Close (7.1.2): send a Close with code and reason, wait up to closeTimeout
	 * for the server's Close and TCP close, then close TCP. No reconnection follows.
	 */
	close(code: number = CloseCode.NORMAL, reason = ""): void {
		if (!isValidCloseCode(code))
			throw new RangeError(`close code ${code} cannot be sent`);
		this.#running = false;
		this.#clearTimer();
		this.#connection?.close(code, reason);
	}

	/** Send a text message; false when not connected or the queue is full. */
	sendText(text: string): boolean {
		this.#whole();
		return this.#send(Opcode.TEXT, text, true);
	}

	/** Send a binary message; false when not connected or the queue is full. The buffer must not change until sent (bufferedAmount). */
	sendBinary(data: ArrayBuffer | Uint8Array): boolean {
		this.#whole();
		return this.#send(Opcode.BINARY, data, true);
	}

	/** Begin a fragmented message (FIN clear): opcode Opcode.TEXT or Opcode.BINARY. */
	sendPartial(opcode: number, data: SendData): boolean {
		if (opcode !== Opcode.TEXT && opcode !== Opcode.BINARY)
			throw new RangeError("sendPartial: opcode must be text (1) or binary (2)");
		this.#whole();
		const sent = this.#send(opcode, data, false);
		if (sent)
			this.#fragmenting = true;
		return sent;
	}

	/** Continue the fragmented message (continuation frame, FIN clear). */
	sendContinuation(data: SendData): boolean {
		this.#fragment();
		return this.#send(Opcode.CONTINUATION, data, false);
	}

	/** End the fragmented message (continuation frame, FIN set); data may be empty. */
	sendFinal(data: SendData = EMPTY): boolean {
		this.#fragment();
		const sent = this.#send(Opcode.CONTINUATION, data, true);
		if (sent)
			this.#fragmenting = false;
		return sent;
	}

	#whole(): void {
		// Data frames of one message may not interleave with another's (5.4).
		if (this.#fragmenting)
			throw new Error("a fragmented message is in progress: end it with sendFinal()");
	}

	#fragment(): void {
		if (!this.#fragmenting)
			throw new Error("no fragmented message in progress: begin one with sendPartial()");
	}

	#send(opcode: number, data: SendData, fin: boolean): boolean {
		const connection = this.#connection;
		if (!connection || connection.state !== OPEN)
			return false;
		const bytes = typeof data === "string" ? new Uint8Array(ArrayBuffer.fromString(data))
			: data instanceof ArrayBuffer ? new Uint8Array(data) : data;
		return connection.enqueue(opcode, bytes, fin);
	}

	/* ------------------------------------------------------------ connecting */

	#attempt(): void {
		const generation = ++this.#generation;
		const target = this.#target;
		this.#fragmenting = false;
		this.#setTimer(this.settings.networkTimeout, () => this.#timedOut());
		log.info(`Connecting to ${this.uri}`);
		if (/^\d{1,3}(\.\d{1,3}){3}$/.test(target.host) || target.host === "localhost") {
			// "localhost" is the loopback (RFC 6761 6.3); the simulator's resolver may answer ::1 only.
			this.#open(target.host === "localhost" ? "127.0.0.1" : target.host);
			return;
		}
		// The simulator's TCP takes dotted IPv4 only: resolve names first.
		try {
			(Net as unknown as NetResolve).resolve(target.host, (name: string, address?: string) => {
				try {
					if (generation !== this.#generation || !this.#running)
						return;
					if (address)
						this.#open(address);
					else
						this.#failedAttempt(`DNS lookup failed for ${name}`);
				}
				catch (e) {
					log.error(`after resolving ${name}: ${(e as Error).message}`);
				}
			});
		}
		catch (e) {
			this.#failedAttempt(`DNS lookup failed for ${target.host}: ${(e as Error).message}`);
		}
	}

	#open(address: string): void {
		try {
			this.#connection = new ClientConnection(address, this.#context);
		}
		catch (e) {
			this.#failedAttempt(`cannot connect to ${address}:${this.#target.port}: ${(e as Error).message}`);
		}
	}

	#timedOut(): void {
		const connection = this.#connection;
		const message = connection?.connected
			? `no answer to the handshake from ${this.uri} within ${this.settings.networkTimeout} ms`
			: `no connection to ${this.uri} within ${this.settings.networkTimeout} ms`;
		log.warn(message);
		this.#emit("onError", new Error(message));
		if (connection)
			connection.destroy("network timeout");		// → #ended → reconnect
		else
			this.#failedAttempt("network timeout", false);
	}

	/** An attempt failed before a connection existed (DNS, invalid address). */
	#failedAttempt(message: string, report = true): void {
		log.error(message);
		if (report)
			this.#emit("onError", new Error(message));
		this.#emit("onDisconnected", message);
		this.#retry();
	}

	#opened(connection: ClientConnection): void {
		this.#clearTimer();
		this.protocol = connection.protocol;
		log.info(`Connected to ${this.uri}${this.protocol ? `, protocol ${this.protocol}` : ""}`);
		this.#emit("onConnected");
	}

	#ended(connection: ClientConnection, reason: string): void {
		this.#connection = undefined;
		this.#fragmenting = false;
		this.#clearTimer();
		if (connection.closeSent && connection.closeCode !== undefined)
			this.#emit("onClosed", connection.closeCode, connection.closeReason);
		else
			this.#emit("onDisconnected", reason);
		this.#retry();
	}

	/** Schedule the next attempt with capped exponential backoff, unless stopped. */
	#retry(): void {
		const reconnect = this.settings.reconnect;
		if (!this.#running)
			return;
		if (!reconnect) {
			this.#running = false;
			return;
		}
		const attempts = ++this.#attempts;
		if (reconnect.maxAttempts && attempts > reconnect.maxAttempts) {
			this.#running = false;
			const message = `giving up on ${this.uri} after ${reconnect.maxAttempts} attempts`;
			log.error(message);
			this.#emit("onError", new Error(message));
			return;
		}
		const delay = Math.min(reconnect.initialDelay * 2 ** Math.min(attempts - 1, 30), reconnect.maxDelay);
		log.info(`Reconnecting in ${delay} ms (attempt ${attempts})`);
		this.#setTimer(delay, () => this.#attempt());
	}

	#setTimer(milliseconds: number, callback: () => void): void {
		this.#clearTimer();
		if (!(milliseconds > 0))
			return;
		this.#timer = Timer.set(() => {
			this.#timer = undefined;
			try {
				if (this.#running)
					callback();
			}
			catch (e) {
				log.error(`${this.uri}: ${(e as Error).message}`);
			}
		}, milliseconds);
	}

	#clearTimer(): void {
		if (this.#timer)
			Timer.clear(this.#timer);
		this.#timer = undefined;
	}

	/** Call an app callback; what it throws is logged, never reaches the platform. */
	#emit<K extends "onConnected" | "onData" | "onDisconnected" | "onError" | "onClosed" | "onDrain">(
		name: K, ...args: Parameters<NonNullable<WebSocketClient[K]>>): void {
		const callback = this[name] as ((...a: unknown[]) => void) | undefined;
		if (!callback)
			return;
		try {
			callback.apply(this, args);
		}
		catch (e) {
			log.error(`${name} threw: ${(e as Error)?.message ?? e}`);
		}
	}
}

/** Outgoing message bytes not yet framed. */
interface Outgoing {
	opcode: number;
	bytes: Uint8Array;
	offset: number;
	fin: boolean;
}

class ClientConnection extends Connection {
	protocol: string | undefined;
	readonly #context: ClientContext;
	readonly #key = generateKey();
	#head: ResponseHeadParser | undefined = new ResponseHeadParser();
	#outgoing: Outgoing[] = [];
	#pending = 0;
	#refused = false;
	/** One timer: the connection check every quietLimit ms (websocket/connection check()), and the pings. */
	#pingTimer: Timer | undefined;
	#nextPing = Infinity;
	/** When the oldest unanswered Ping was sent (0: none). */
	#awaitingSince = 0;
	/** Why we failed the connection, if we did: what onDisconnected reports. */
	#failure: string | undefined;

	constructor(address: string, context: ClientContext) {
		super({ address, port: context.target.port, tls: context.tls }, { role: "client", log, closeTimeout: context.settings.closeTimeout });
		this.#context = context;
	}

	/** Bytes accepted and not yet written. */
	get bufferedAmount(): number {
		return this.queued + this.#pending;
	}

	protected override onConnect(): void {
		const target = this.#context.target;
		this.send(ArrayBuffer.fromString(upgradeRequest({
			host: target.hostHeader, path: target.path, key: this.#key, protocols: this.#context.settings.protocols,
		})));
	}

	protected handshake(chunk: ArrayBuffer): void {
		const parser = this.#head!;
		if (!parser.feed(chunk))
			return;
		this.#head = undefined;
		const settings = this.#context.settings;
		// The parser's error status is what a server would answer; for a client the answer simply is not HTTP.
		const result = parser.error ? { ok: false as const, message: `the answer is not HTTP (${parser.error.message})` }
			: validateUpgradeResponse(parser.head!, this.#key, settings.protocols);
		if (!result.ok) {
			const message = `handshake with ${this.peer} failed: ${result.message}`;
			log.error(message);
			this.#context.error(this, message);
			this.destroy("handshake failed");
			return;
		}
		this.protocol = result.protocol;
		this.open({ role: "client", maxMessage: settings.maxMessage });
		const ping = settings.pingInterval;
		this.#nextPing = ping > 0 ? Date.now() + ping : Infinity;
		this.#pingTimer = Timer.repeat(() => this.#tick(), ping > 0 ? Math.min(quietLimit, ping) : quietLimit);
		this.#context.opened(this);
		if (parser.rest && this.state !== CLOSED)
			this.reader!.feed(parser.rest);
	}

	/** Accept a message (or fragment) for sending; false when the queue is full. */
	enqueue(opcode: number, bytes: Uint8Array, fin: boolean): boolean {
		const size = bytes.byteLength;
		const buffered = this.bufferedAmount;
		if (buffered && buffered + size > this.#context.settings.maxQueue) {
			this.#refused = true;
			return false;
		}
		this.#outgoing.push({ opcode, bytes, offset: 0, fin });
		this.#pending += size;
		this.flush();
		return true;
	}

	/** Next frame: at most sendBuffer bytes of the oldest message, masked (5.3). */
	protected override produce(): Chunk | undefined {
		const message = this.#outgoing[0];
		if (!message)
			return undefined;
		const length = message.bytes.byteLength, offset = message.offset;
		const count = Math.min(this.#context.settings.sendBuffer, length - offset);
		const end = offset + count;
		const frame = this.writer.frame(offset ? Opcode.CONTINUATION : message.opcode,
			message.bytes.subarray(offset, end), message.fin && end === length);
		message.offset = end;
		this.#pending -= count;
		if (end === length)
			this.#outgoing.shift();
		return frame;
	}

	protected override drained(): void {
		if (this.#refused && !this.#outgoing.length) {
			this.#refused = false;
			this.#context.drained(this);
		}
	}

	/** @internal */
	onMessage(type: number, data: ArrayBuffer): void {
		if (this.state === OPEN)
			this.#context.message(this, type, data);
	}

	#tick(): void {
		const now = Date.now();
		this.check(now);
		if (now < this.#nextPing)
			return;
		this.#nextPing = now + this.#context.settings.pingInterval;
		this.#ping(now);
	}

	#ping(now: number): void {
		try {
			if (this.state !== OPEN)
				return;
			const since = this.#awaitingSince;
			if (since && now - since >= this.#context.settings.pongTimeout) {
				const message = `no pong from ${this.peer} for ${now - since} ms`;
				log.warn(message);
				this.#context.error(this, message);
				this.destroy("pong timeout");
				return;
			}
			if (!since)
				this.#awaitingSince = now;
			this.send(this.writer.ping());
		}
		catch (e) {
			this.crash(e);
		}
	}

	protected override pong(): void {
		this.#awaitingSince = 0;
		this.#context.healthy(this);
	}

	protected override protocolError(closeCode: number, reason: string): void {
		this.#failure = `protocol error: ${reason} (close ${closeCode})`;
		this.#context.error(this, `protocol error from ${this.peer}: ${reason} (close ${closeCode})`);
	}

	protected override goneReason(): string {
		if (!this.connected)
			return "connection failed";
		if (this.state === CONNECTING)
			return "server closed during the handshake";
		return super.goneReason();
	}

	protected ended(reason: string): void {
		if (this.#pingTimer)
			Timer.clear(this.#pingTimer);
		this.#pingTimer = undefined;
		this.#outgoing = [];
		this.#pending = 0;
		this.#head = undefined;
		this.#context.ended(this, this.#failure ?? reason);
	}
}
