/*
 * WebSocket echo server (RFC 6455) on the ECMA-419 listener and TCP sockets,
 * in the spirit of ESP-IDF's ws_echo_server example.
 *
 * - Handshake (4.2): validateUpgradeRequest, then the server's own rules:
 *   `?token=` when a token is set (401), at most maxClients (503). Refusals
 *   get an HTTP response with a short text body; TCP closes once it is written.
 * - Echo streams: each piece the reader delivers goes straight back as one
 *   frame of the same message (first: text/binary, then continuation), so a
 *   message of any size echoes through a small, fixed amount of memory. The
 *   last piece of a text message is held until the reader confirms its UTF-8
 *   is complete (8.1), so no invalid text ever finishes on the wire. While the
 *   write queue holds READ_CAP bytes or more the connection stops reading:
 *   the socket's buffer fills and TCP pushes back on the peer.
 * - "Trigger async" also gets "Async data" from a timer, "Ping" a Ping frame.
 *   A data frame from the timer waits while an echoed message is half sent:
 *   messages never interleave (5.4).
 * - heartbeat: every N ms each client is pinged; one that did not pong since
 *   the previous ping is dropped (Close 1001, then TCP). This is how a peer
 *   that vanished without FIN or RST (out of WiFi range) loses its slot: a
 *   live client answers pings by itself (5.5.2; browsers do), however quiet
 *   it is, so unlike an idle timeout it never drops a page that is merely
 *   waiting.
 * - Dead peers: one timer per server checks every connection each
 *   quietLimit ms (websocket/connection check()), so a connection the
 *   platform went silent on (the simulator after an error it never reports)
 *   is found and frees its slot.
 * - lruPurge (ESP-IDF httpd's lru_purge_enable): a client beyond maxClients
 *   closes the client idle the longest (Close 1001) and takes its place,
 *   instead of being answered 503.
 */

import Listener from "embedded:io/socket/listener";
import TCP from "embedded:io/socket/tcp";
import Timer from "timer";
import { Log, peerName } from "modules/log";
import { CONNECTING, Connection, OPEN, quietLimit } from "websocket/connection";
import { CloseCode, Opcode } from "websocket/constants";
import {
	RequestHeadParser, acceptResponse, errorResponse, rejectionResponse, selectProtocol, validateUpgradeRequest,
} from "websocket/handshake";

const log = new Log("ws-server");

/** Stop reading while this many bytes wait to be written. */
const READ_CAP = 2048;
/** Read the handshake in pieces this small, so what follows the head is small too. */
const HANDSHAKE_READ = 1024;
/** Largest request head accepted (431 beyond). */
const MAX_HEAD = 2048;
/** Connections kept beyond maxClients just to answer them 503; more are closed at once. */
const SPARE_SOCKETS = 2;
/** First bytes of a text message kept to recognize commands and preview it in the log. */
const PROBE = 32;

const TRIGGER_ASYNC = "Trigger async";
const PING = "Ping";
const ASYNC_DATA = "Async data";

export interface WebSocketEchoServerOptions {
	/** TCP port; 0 = any (read `port` after start()). */
	port: number;
	/** Path served; other paths get 404. Default "/ws". */
	path?: string;
	/** WebSocket clients served at once; more get 503. Default 4. */
	maxClients?: number;
	/** Largest message held whole. The echo streams, holding none: accepted for symmetry, unused. Default 65536. */
	maxMessage?: number;
	/** A handshake must complete within this (ms). Default 5000. */
	handshakeTimeout?: number;
	/** Ping every client this often (ms) and drop those that did not pong since the last ping. 0 = off (default). */
	heartbeat?: number;
	/** Wait this long for the peer's Close, or for a closing connection's output to drain (ms). Default 3000. */
	closeTimeout?: number;
	/** When set, the request must carry `?token=<token>` (401 otherwise). Default "" (off). */
	token?: string;
	/** Subprotocols supported, preferred first; the first one the client offers is selected. Default none. */
	protocols?: string[];
	/** A client beyond maxClients closes the longest-idle client instead of being answered 503. Default false. */
	lruPurge?: boolean;
}

type Settings = Required<WebSocketEchoServerOptions>;

/** What a connection needs from its server. */
interface ServerContext {
	readonly settings: Settings;
	/** Clients past the handshake. */
	clients(): number;
	/** Make room for one more client by closing the longest-idle one, when the settings allow; whether it did. */
	purge(newcomer: string): boolean;
	opened(connection: EchoConnection): void;
	ended(connection: EchoConnection): void;
	/** A client's slot is free before its connection has closed (purged). */
	released(): void;
}

export class WebSocketEchoServer {
	readonly options: Settings;
	#listener: Listener | undefined;
	/** One timer: connection checks every quietLimit ms, and the heartbeat. */
	#timer: Timer | undefined;
	#nextBeat = 0;
	#connections = new Set<EchoConnection>();
	#clients = 0;
	#maxQueued = 0;
	#context: ServerContext;

	constructor(options: WebSocketEchoServerOptions) {
		this.options = {
			port: options.port,
			path: options.path ?? "/ws",
			maxClients: options.maxClients ?? 4,
			maxMessage: options.maxMessage ?? 65536,
			handshakeTimeout: options.handshakeTimeout ?? 5000,
			heartbeat: options.heartbeat ?? 0,
			closeTimeout: options.closeTimeout ?? 3000,
			token: options.token ?? "",
			protocols: options.protocols ?? [],
			lruPurge: options.lruPurge ?? false,
		};
		const server = this;
		this.#context = {
			settings: this.options,
			clients: () => server.#clients,
			purge: newcomer => server.#purge(newcomer),
			opened() {
				server.#clients++;
			},
			released() {
				server.#clients--;
			},
			ended(connection) {
				if (connection.upgraded)
					server.#clients--;
				server.#connections.delete(connection);
				if (connection.maxQueued > server.#maxQueued)
					server.#maxQueued = connection.maxQueued;
			},
		};
	}

	/** The port actually listened on (differs from the option when it was 0). */
	get port(): number {
		return this.#listener?.port ?? this.options.port;
	}

	/** WebSocket clients connected (past the handshake, not yet closed). */
	get clients(): number {
		return this.#clients;
	}

	/** Largest write queue any connection held, in bytes (diagnostics: memory stays bounded). */
	get maxQueued(): number {
		let most = this.#maxQueued;
		for (const connection of this.#connections)
			most = Math.max(most, connection.maxQueued);
		return most;
	}

	start(): void {
		if (this.#listener)
			throw new Error("already started");
		const server = this;
		this.#listener = new Listener({
			port: this.options.port,
			onReadable(count: number) {
				while (count-- > 0) {
					try {
						const from = this.read();
						if (from)
							server.#accept(from);
					}
					catch (e) {
						log.error(`accept failed: ${(e as Error).message}`);
					}
				}
			},
		});
		const { heartbeat, lruPurge } = this.options;
		this.#nextBeat = heartbeat > 0 ? Date.now() + heartbeat : Infinity;
		this.#timer = Timer.repeat(() => this.#tick(), heartbeat > 0 ? Math.min(quietLimit, heartbeat) : quietLimit);
		log.info(`WebSocket echo server listening on port ${this.port}, path ${this.options.path}, ` +
			`${this.options.maxClients} clients at once${heartbeat > 0 ? `, heartbeat ${heartbeat} ms` : ""}${lruPurge ? ", longest-idle purged when full" : ""}`);
	}

	/** Stop listening; clients get Close 1001 "going away" and closeTimeout to answer it. */
	close(): void {
		const listener = this.#listener;
		if (!listener)
			return;
		this.#listener = undefined;
		if (this.#timer)
			Timer.clear(this.#timer);
		this.#timer = undefined;
		(listener as unknown as { close(): void }).close();		// ECMA-419 close(), missing from the typings
		log.info(`WebSocket echo server closing, ${this.#clients} clients`);
		for (const connection of [...this.#connections]) {
			try {
				connection.close(CloseCode.GOING_AWAY, "going away");
			}
			catch (e) {
				log.error(`closing ${connection.peer}: ${(e as Error).message}`);
			}
		}
	}

	#accept(from: TCP): void {
		if (this.#connections.size >= this.options.maxClients + SPARE_SOCKETS) {
			const peer = peerName(from.remoteAddress, from.remotePort);
			from.close();
			log.warn(`Connection refused from ${peer}: ${this.#connections.size} connections open`);
			return;
		}
		this.#connections.add(new EchoConnection(from, this.#context));
	}

	#tick(): void {
		const now = Date.now();
		const beat = now >= this.#nextBeat;
		if (beat)
			this.#nextBeat = now + this.options.heartbeat;
		for (const connection of [...this.#connections]) {
			try {
				connection.check(now);
				if (beat)
					connection.heartbeat();
			}
			catch (e) {
				log.error(`checking ${connection.peer}: ${(e as Error).message}`);
			}
		}
	}

	#purge(newcomer: string): boolean {
		if (!this.options.lruPurge)
			return false;
		let idlest: EchoConnection | undefined;
		for (const connection of this.#connections)
			if (connection.upgraded && connection.state === OPEN && (!idlest || connection.lastActivity < idlest.lastActivity))
				idlest = connection;
		if (!idlest)
			return false;
		log.info(`Purging ${idlest.peer}, idle for ${Date.now() - idlest.lastActivity} ms, to serve ${newcomer}`);
		idlest.purge();
		return true;
	}
}

class EchoConnection extends Connection {
	upgraded = false;
	readonly #context: ServerContext;
	#head: RequestHeadParser | undefined = new RequestHeadParser(MAX_HEAD);
	#awaitingPong = false;

	/* The message being echoed. */
	#type = 0;
	#echoing = false;
	/** A first frame of the echo was queued: continuation frames follow. */
	#started = false;
	/** The echo's final frame was queued. */
	#finished = true;
	/** Text: the last piece, sent once the reader found the message's UTF-8 complete. */
	#held: ArrayBuffer | undefined;
	#length = 0;
	readonly #probe = new Uint8Array(PROBE);
	/** "Async data" messages waiting for the echo in progress to finish. */
	#asyncPending = 0;

	constructor(from: TCP, context: ServerContext) {
		super({ from }, { role: "server", log, closeTimeout: context.settings.closeTimeout });
		this.#context = context;
		this.arm(context.settings.handshakeTimeout, "handshake timeout");
	}

	protected override readLimit(): number {
		if (this.state === CONNECTING)
			return HANDSHAKE_READ;
		if (this.state === OPEN)
			return READ_CAP - this.queued;		// echo backpressure
		return Infinity;		// closing: answer nothing, only look for the Close
	}

	/* -------------------------------------------------------------- handshake */

	protected handshake(chunk: ArrayBuffer): void {
		const parser = this.#head!;
		if (!parser.feed(chunk))
			return;
		this.#head = undefined;
		if (parser.error)
			return this.#refuse(parser.error.status, rejectionResponse(parser.error), parser.error.message);
		const settings = this.#context.settings;
		const request = validateUpgradeRequest(parser.head!, { path: settings.path });
		if (!request.ok)
			return this.#refuse(request.status, rejectionResponse(request), request.message);
		if (settings.token && tokenOf(request.query) !== settings.token)
			return this.#refuse(401, errorResponse(401, "missing or wrong token"), "missing or wrong token");
		if (this.#context.clients() >= settings.maxClients && !this.#context.purge(this.peer))
			return this.#refuse(503, errorResponse(503, "too many clients"), `${settings.maxClients} clients already connected`);
		const protocol = selectProtocol(request.protocols, settings.protocols);
		this.send(ArrayBuffer.fromString(acceptResponse(request.key, protocol)));
		this.upgraded = true;
		this.#context.opened(this);
		log.info(`Handshake done, peer ${this.peer}, path ${request.path}${protocol ? `, protocol ${protocol}` : ""}`);
		// The echo streams: no message is held whole, so no size limit applies (10.4 is met by streaming).
		this.open({ role: "server", streaming: true, maxMessage: Number.MAX_SAFE_INTEGER });
		if (parser.rest)
			this.reader!.feed(parser.rest);
	}

	#refuse(status: number, response: string, cause: string): void {
		log.warn(`Handshake refused, peer ${this.peer}: ${status} ${cause}`);
		this.send(ArrayBuffer.fromString(response));
		this.fail(0, `refused ${status}`);		// not open: no Close frame, TCP closes once the response is out
	}

	/* ------------------------------------------------------------------- echo */

	/** @internal */
	onMessageStart(type: number): void {
		if (this.state !== OPEN)
			return;
		this.#type = type;
		this.#echoing = true;
		this.#started = false;
		this.#finished = false;
		this.#length = 0;
	}

	/** @internal */
	onMessageData(piece: ArrayBuffer, last: boolean): void {
		if (!this.#echoing)
			return;
		const length = this.#length;
		if (length < PROBE && this.#type === Opcode.TEXT) {
			const count = Math.min(PROBE - length, piece.byteLength);
			this.#probe.set(new Uint8Array(piece, 0, count), length);
		}
		this.#length = length + piece.byteLength;
		if (last && this.#type === Opcode.TEXT)
			this.#held = piece;		// its UTF-8 is judged complete only at the end (8.1)
		else
			this.#echo(piece, last);
	}

	/** @internal */
	onMessageEnd(): void {
		if (!this.#echoing)
			return;
		this.#echoing = false;
		const held = this.#held;
		this.#held = undefined;
		if (held)
			this.#echo(held, true);
		else if (!this.#finished)
			this.#echo(new ArrayBuffer(0), true);
		const text = this.#type === Opcode.TEXT;
		const length = this.#length;
		const shown = text ? this.#preview(length) : "";
		if (log.debugging)
			log.debug(`Received ${text ? "text" : "binary"} message of ${length} bytes from ${this.peer}${shown}`);
		if (text && length === TRIGGER_ASYNC.length && shown === `: ${TRIGGER_ASYNC}`)
			this.#triggerAsync();
		else if (text && length === PING.length && shown === `: ${PING}`) {
			log.info(`Sending ping to ${this.peer}`);
			this.send(this.writer.ping());
		}
		for (; this.#asyncPending > 0; this.#asyncPending--)
			this.#sendAsync();
	}

	/** One piece of the echoed message, as a whole frame. */
	#echo(piece: ArrayBuffer, fin: boolean): void {
		if (this.state !== OPEN)
			return;
		const opcode = this.#started ? Opcode.CONTINUATION : this.#type;
		this.#started = true;
		this.#finished = fin;
		this.send(this.writer.header(opcode, fin, piece.byteLength));
		if (piece.byteLength)
			this.send(this.writer.payload(piece));
	}

	/** ": text" for a short printable ASCII message, "" otherwise. */
	#preview(length: number): string {
		if (length === 0 || length > PROBE)
			return "";
		const probe = this.#probe;
		for (let i = 0; i < length; i++)
			if (probe[i] < 0x20 || probe[i] > 0x7E)
				return "";
		return `: ${String.fromCharCode(...probe.subarray(0, length))}`;
	}

	#triggerAsync(): void {
		// Like httpd_queue_work: sent later, from a timer, outside the request path.
		Timer.set(() => {
			try {
				if (this.state !== OPEN)
					return;
				if (this.#started && !this.#finished)
					this.#asyncPending++;		// an echoed message is half sent
				else
					this.#sendAsync();
			}
			catch (e) {
				this.crash(e);
			}
		}, 0);
	}

	#sendAsync(): void {
		if (this.state !== OPEN)
			return;
		log.info(`Sending async data to ${this.peer}`);
		this.send(this.writer.text(ASYNC_DATA));
	}

	/* -------------------------------------------------------------- heartbeat */

	/** Make room for a newcomer: Close 1001, and the slot counts as free at once. */
	purge(): void {
		if (this.upgraded) {
			this.upgraded = false;
			this.#context.released();
		}
		this.close(CloseCode.GOING_AWAY, "server full");
	}

	heartbeat(): void {
		if (this.state !== OPEN)
			return;
		if (this.#awaitingPong) {
			// A peer that answers no ping will not answer a Close either: say 1001 if
			// the budget allows, and free the slot now rather than after closeTimeout.
			log.warn(`No pong from ${this.peer} since the last ping`);
			this.abandon(CloseCode.GOING_AWAY, "ping timeout");
			return;
		}
		this.#awaitingPong = true;
		this.send(this.writer.ping());
	}

	protected override pong(): void {
		this.#awaitingPong = false;
	}

	protected ended(): void {
		this.#head = undefined;
		this.#held = undefined;
		this.#context.ended(this);
	}
}

/** The `token` parameter of a query string ("a=1&token=x"), URI-decoded; undefined when absent or malformed. */
function tokenOf(query: string): string | undefined {
	for (const part of query.split("&")) {
		const equals = part.indexOf("=");
		const name = equals < 0 ? part : part.slice(0, equals);
		if (name !== "token")
			continue;
		try {
			return decodeURIComponent(equals < 0 ? "" : part.slice(equals + 1).replace(/\+/g, " "));
		}
		catch {
			return undefined;
		}
	}
	return undefined;
}
