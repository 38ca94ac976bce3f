/*
 * The WebSocket echo service, in the spirit of ESP-IDF's ws_echo_server
 * example: WebSocketEcho, the handler of a streaming route of a
 * WebSocketServer (websocket/server), and WebSocketEchoServer, a server
 * with that one route.
 *
 * - Each piece the connection delivers goes straight back as one frame of
 *   the same message (sendPiece), so a message of any size echoes through a
 *   small, fixed amount of memory. The last piece of a text message is held
 *   until the message ends, when its UTF-8 is known complete (8.1), so no
 *   invalid text ever finishes on the wire.
 * - Backpressure: while READ_CAP bytes or more wait to be sent the
 *   connection is paused; the socket's buffer fills and TCP pushes back on
 *   the peer. onDrain resumes it.
 * - "Trigger async" also gets "Async data" from a timer, "Ping" a Ping frame.
 *   A whole message sent while an echo is half sent waits for its end
 *   (websocket/connection): messages never interleave (5.4).
 */

import Timer from "timer";
import { OPEN, type WebSocketConnection, type WebSocketHandler } from "websocket/connection";
import { CloseCode, Opcode } from "websocket/constants";
import type { Log } from "modules/log";
import { WebSocketServer, type WebSocketRouteOptions, type WebSocketServerOptions } from "websocket/server";

/** Pause reading while this many bytes wait to be written. */
const READ_CAP = 2048;
/** Bytes read at most per read: with READ_CAP, what bounds the send queue. */
const READ_SIZE = 1024;
/** A text message this short is previewed in the debug log (its bytes kept only when debugging). */
const PROBE = 32;

const TRIGGER_ASYNC = "Trigger async";
const PING = "Ping";
/** The commands, recognized as their bytes arrive (bit i of Echo.matches: COMMANDS[i]); no bytes are kept for it. */
const COMMANDS: readonly string[] = Object.freeze([TRIGGER_ASYNC, PING]);
const LONGEST = Math.max(TRIGGER_ASYNC.length, PING.length);
const ASYNC_DATA = "Async data";
const EMPTY = new Uint8Array(0);

export interface WebSocketEchoServerOptions extends Omit<WebSocketServerOptions, "logTag"> {
	/** Path served; other paths get 404. Default "/ws". */
	path?: string;
}

/** The message being echoed on one connection: a few numbers, no buffer (an idle connection's memory). */
class Echo {
	type = 0;
	/** Bytes of the message so far. */
	length = 0;
	/** The echo's final frame was queued. */
	finished = true;
	/** Text: the commands the bytes so far could still be, one bit each (COMMANDS). */
	matches = 0;
	/** Text: the last piece, sent once the message is complete (added at the first text message). */
	declare held: Uint8Array | undefined;
	/** Debug log only: the first PROBE bytes, for the preview. */
	declare probe: Uint8Array | undefined;
}

/** The echo, as the handler of every connection on its route. */
export class WebSocketEcho implements WebSocketHandler {
	readonly #log: Log;

	constructor(log: Log) {
		this.#log = log;
	}

	/** The route options the echo needs: streaming, with no size limit (10.4 is met by streaming: nothing is held whole). */
	static readonly routeOptions: WebSocketRouteOptions = Object.freeze({
		streaming: true, maxMessage: Number.MAX_SAFE_INTEGER, sendBuffer: READ_SIZE, readSize: READ_SIZE,
	});

	onOpen(connection: WebSocketConnection): void {
		connection.context = new Echo();
	}

	onMessageStart(connection: WebSocketConnection, type: number): void {
		const echo = connection.context as Echo;
		echo.type = type;
		echo.length = 0;
		echo.finished = false;
		echo.matches = type === Opcode.TEXT ? (1 << COMMANDS.length) - 1 : 0;
	}

	onMessageData(connection: WebSocketConnection, piece: Uint8Array, last: boolean): void {
		const echo = connection.context as Echo;
		const length = echo.length;
		const text = echo.type === Opcode.TEXT;
		if (text && length < LONGEST && echo.matches)
			echo.matches = narrow(echo.matches, piece, length);
		if (text && length < PROBE && this.#log.debugging)
			(echo.probe ??= new Uint8Array(PROBE)).set(piece.subarray(0, Math.min(PROBE - length, piece.byteLength)), length);
		echo.length = length + piece.byteLength;
		if (last && text)
			echo.held = piece;		// its UTF-8 is judged complete only at the end (8.1)
		else
			this.#echo(connection, echo, piece, last);
	}

	onMessageEnd(connection: WebSocketConnection): void {
		const echo = connection.context as Echo;
		const held = echo.held;
		echo.held = undefined;
		if (held)
			this.#echo(connection, echo, held, true);
		else if (!echo.finished)
			this.#echo(connection, echo, EMPTY, true);		// an empty message, or one whose last frame was empty
		const text = echo.type === Opcode.TEXT;
		const log = this.#log;
		if (log.debugging)
			log.debug(`Received ${text ? "text" : "binary"} message of ${echo.length} bytes from ${connection.peer}${text && echo.probe ? preview(echo.probe, echo.length) : ""}`);
		if (text && isCommand(echo, 0))
			triggerAsync(connection, log);
		else if (text && isCommand(echo, 1)) {
			log.info(`Sending ping to ${connection.peer}`);
			connection.ping();
		}
	}

	onDrain(connection: WebSocketConnection): void {
		connection.resume();
	}

	onEnd(connection: WebSocketConnection): void {
		connection.context = undefined;		// a spent connection holds no echo state, whoever still refers to it
	}

	/** One piece of the echoed message, as one frame. */
	#echo(connection: WebSocketConnection, echo: Echo, piece: Uint8Array, last: boolean): void {
		echo.finished = last;
		if (!connection.sendPiece(echo.type, piece, last)) {
			connection.fail(CloseCode.INTERNAL_ERROR, "echo queue full");		// cannot happen while READ_CAP < maxQueue
			return;
		}
		if (connection.bufferedAmount >= READ_CAP)
			connection.pause();
	}
}

/** The commands still possible once bytes piece[0...] sit at offset `at` of the message: compared as bytes, no string built. */
function narrow(matches: number, piece: Uint8Array, at: number): number {
	const stop = Math.min(piece.byteLength, LONGEST - at);
	for (let c = 0; c < COMMANDS.length; c++) {
		const bit = 1 << c;
		if (!(matches & bit))
			continue;
		const command = COMMANDS[c];
		for (let i = 0; i < stop; i++) {
			const position = at + i;
			if (position >= command.length || piece[i] !== command.charCodeAt(position)) {
				matches &= ~bit;
				break;
			}
		}
	}
	return matches;
}

/** Whether the message is exactly COMMANDS[index] (ASCII). */
function isCommand(echo: Echo, index: number): boolean {
	return (echo.matches & (1 << index)) !== 0 && echo.length === COMMANDS[index].length;
}

/** ": text" for a short printable ASCII message, "" otherwise. */
function preview(probe: Uint8Array, length: number): string {
	if (length === 0 || length > PROBE)
		return "";
	for (let i = 0; i < length; i++)
		if (probe[i] < 0x20 || probe[i] > 0x7E)
			return "";
	return `: ${String.fromCharCode(...probe.subarray(0, length))}`;
}

/** Like httpd_queue_work: "Async data" is sent later, from a timer, outside the request path. */
function triggerAsync(connection: WebSocketConnection, log: Log): void {
	Timer.set(() => {
		try {
			if (connection.state !== OPEN)
				return;
			log.info(`Sending async data to ${connection.peer}`);
			connection.sendText(ASYNC_DATA);
		}
		catch (e) {
			log.error(`async data to ${connection.peer}: ${(e as Error).message}`);
		}
	}, 0);
}

export class WebSocketEchoServer {
	readonly #server: WebSocketServer;

	constructor(options: WebSocketEchoServerOptions) {
		const { path = "/ws", ...serverOptions } = options;
		this.#server = new WebSocketServer(serverOptions);
		this.#server.route(path, new WebSocketEcho(this.#server.log), WebSocketEcho.routeOptions);
	}

	/** The port actually listened on (differs from the option when it was 0). */
	get port(): number {
		return this.#server.port;
	}

	/** WebSocket clients connected (past the handshake, not yet closed). */
	get clients(): number {
		return this.#server.clients;
	}

	/** Largest send queue any connection held, in bytes (diagnostics: memory stays bounded). */
	get maxQueued(): number {
		return this.#server.maxQueued;
	}

	start(): void {
		this.#server.start();
	}

	/** Stop listening; clients get Close 1001 "going away" and closeTimeout to answer it. */
	close(): void {
		this.#server.close();
	}
}
