/*
 * The WebSocket echo service, in the spirit of ESP-IDF's ws_echo_server
 * example: WebSocketEcho, the handler of a streaming route of a
 * WebSocketServer (websocket/server). (The unit tests serve it on a server
 * of its own: tests/unit/websocket/echo-server.ts.)
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

import type { Log } from "modules/log";
import Timer from "timer";
import { OPEN, type WebSocketConnection, type WebSocketHandler } from "websocket/connection";
import { CloseCode, type MessageType, Opcode } from "websocket/constants";
import type { WebSocketRouteOptions } from "websocket/server";

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

/*
 * The message being echoed on one connection is one number, its
 * connection's context (a slot, no object: an idle connection's memory):
 * the type (bits 0-1), whether the echo's final frame was queued (FINISHED),
 * for text the commands the bytes so far could still be (bits 3-4, one per
 * COMMANDS entry), and above them the bytes of the message so far
 * (saturating at 2^47: exact in a Number; only logs and the commands read it).
 * When the debug log is on, from the first text message on the context is
 * an EchoProbe instead: the number and the first PROBE bytes of the
 * message, for the log's preview.
 * Packed for memory: an object with a field each would be about five slots
 * more on every idle echo connection, beyond the per-connection budget
 * tests/device/sim-memory holds (WS_SLOT_BUDGET).
 */
const TYPE_BITS = 0x3;
const FINISHED = 0x4;
const MATCHES_SHIFT = 3;
const MATCHES_BITS = ((1 << COMMANDS.length) - 1) << MATCHES_SHIFT;
const LENGTH_UNIT = 32;
const LENGTH_CAP = 2 ** 47;

/** Debug log only: the echo's number and the first PROBE bytes of the message. */
class EchoProbe {
	state = FINISHED;
	readonly probe = new Uint8Array(PROBE);
}

function echoState(connection: WebSocketConnection): number {
	const context = connection.context as number | EchoProbe;
	return typeof context === "number" ? context : context.state;
}

function setEchoState(connection: WebSocketConnection, state: number): void {
	const context = connection.context as number | EchoProbe;
	if (typeof context === "number") connection.context = state;
	else context.state = state;
}

function lengthOf(state: number): number {
	return Math.floor(state / LENGTH_UNIT);
}

/** state with `length` bytes so far and the low bits `low`. */
function withLength(low: number, length: number): number {
	return Math.min(length, LENGTH_CAP) * LENGTH_UNIT + low;
}

/* Reading a low bit with & is exact for any state (ToInt32 keeps the low bits); changing one is arithmetic, as the state may exceed 32 bits. */
function withLow(state: number, low: number): number {
	return state - (state % LENGTH_UNIT) + low;
}

/** The echo, as the handler of every connection on its route. */
export class WebSocketEcho implements WebSocketHandler {
	private readonly log: Log;
	/*
	 * Text: the last piece of a message, sent once the message is complete.
	 * Held here, not per connection: the last piece and the message's end
	 * (or its failure) are delivered within one read, one connection at a time.
	 */
	private held: Uint8Array | undefined;
	private heldBy: WebSocketConnection | undefined;

	constructor(log: Log) {
		this.log = log;
	}

	/** The route options the echo needs: streaming, with no size limit (10.4 is met by streaming: nothing is held whole). */
	static readonly routeOptions: WebSocketRouteOptions = Object.freeze({
		streaming: true,
		maxMessage: Number.MAX_SAFE_INTEGER,
		sendBuffer: READ_SIZE,
		readSize: READ_SIZE,
	});

	onOpen(connection: WebSocketConnection): void {
		connection.context = FINISHED;
	}

	onMessageStart(connection: WebSocketConnection, type: MessageType): void {
		this.drop(); // (a piece held for a message that then failed)
		setEchoState(connection, (type & TYPE_BITS) | (type === Opcode.TEXT ? MATCHES_BITS : 0));
	}

	onMessageData(connection: WebSocketConnection, piece: Uint8Array, last: boolean): void {
		let state = echoState(connection);
		const length = lengthOf(state);
		const text = (state & TYPE_BITS) === Opcode.TEXT;
		if (text && length < LONGEST && state & MATCHES_BITS) {
			const low = state % LENGTH_UNIT;
			state = withLow(state, (low & ~MATCHES_BITS) | (narrow((low & MATCHES_BITS) >> MATCHES_SHIFT, piece, length) << MATCHES_SHIFT));
		}
		if (text && length < PROBE && this.log.debugging) {
			let context = connection.context as number | EchoProbe;
			if (typeof context === "number") {
				context = new EchoProbe(); // the state is set below
				connection.context = context;
			}
			context.probe.set(piece.subarray(0, Math.min(PROBE - length, piece.byteLength)), length);
		}
		state = withLength(state % LENGTH_UNIT, length + piece.byteLength);
		setEchoState(connection, state);
		if (last && text) {
			this.held = piece; // its UTF-8 is judged complete only at the end (8.1)
			this.heldBy = connection;
		} else this.echo(connection, piece, last);
	}

	onMessageEnd(connection: WebSocketConnection): void {
		const held = this.heldBy === connection ? this.held : undefined;
		this.drop();
		if (held) this.echo(connection, held, true);
		else if (!(echoState(connection) & FINISHED)) this.echo(connection, EMPTY, true); // an empty message, or one whose last frame was empty
		const state = echoState(connection);
		const text = (state & TYPE_BITS) === Opcode.TEXT;
		const length = lengthOf(state);
		const log = this.log;
		const context = connection.context;
		if (log.debugging)
			log.debug(
				`Received ${text ? "text" : "binary"} message of ${length} bytes from ${connection.peer}${text && typeof context === "object" ? preview((context as EchoProbe).probe, length) : ""}`,
			);
		if (text && isCommand(state, 0)) triggerAsync(connection, log);
		else if (text && isCommand(state, 1)) {
			log.info(`Sending ping to ${connection.peer}`);
			connection.ping();
		}
	}

	/** The message failed (e.g. its text ends inside a UTF-8 sequence): nothing more of it is sent. */
	onProtocolError(connection: WebSocketConnection): void {
		if (this.heldBy === connection) this.drop();
	}

	private drop(): void {
		if (this.heldBy) this.held = this.heldBy = undefined;
	}

	onDrain(connection: WebSocketConnection): void {
		connection.resume();
	}

	onClose(connection: WebSocketConnection): void {
		if (this.heldBy === connection) this.drop();
		connection.context = undefined; // a spent connection holds no echo state, whoever still refers to it
	}

	/** One piece of the echoed message, as one frame. */
	private echo(connection: WebSocketConnection, piece: Uint8Array, last: boolean): void {
		const state = echoState(connection);
		const low = state % LENGTH_UNIT;
		setEchoState(connection, withLow(state, last ? low | FINISHED : low & ~FINISHED));
		if (!connection.sendPiece((state & TYPE_BITS) as MessageType, piece, last)) {
			connection.fail(CloseCode.INTERNAL_ERROR, "echo queue full"); // cannot happen while READ_CAP < maxQueue
			return;
		}
		if (connection.bufferedAmount >= READ_CAP) connection.pause();
	}
}

/** The commands still possible once bytes piece[0...] sit at offset `at` of the message: compared as bytes, no string built. */
function narrow(matches: number, piece: Uint8Array, at: number): number {
	const stop = Math.min(piece.byteLength, LONGEST - at);
	for (let c = 0; c < COMMANDS.length; c++) {
		const bit = 1 << c;
		if (!(matches & bit)) continue;
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
function isCommand(state: number, index: number): boolean {
	return (state & (1 << (MATCHES_SHIFT + index))) !== 0 && lengthOf(state) === COMMANDS[index].length;
}

/** ": text" for a short printable ASCII message, "" otherwise. */
function preview(probe: Uint8Array, length: number): string {
	if (length === 0 || length > PROBE) return "";
	for (let i = 0; i < length; i++) if (probe[i] < 0x20 || probe[i] > 0x7e) return "";
	return `: ${String.fromCharCode(...probe.subarray(0, length))}`;
}

/** Like httpd_queue_work: "Async data" is sent later, from a timer, outside the request path. */
function triggerAsync(connection: WebSocketConnection, log: Log): void {
	Timer.set(() => {
		try {
			if (connection.state !== OPEN) return;
			log.info(`Sending async data to ${connection.peer}`);
			connection.sendText(ASYNC_DATA);
		} catch (e) {
			log.error(`async data to ${connection.peer}: ${(e as Error).message}`);
		}
	}, 0);
}
