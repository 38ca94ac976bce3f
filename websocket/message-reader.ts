/*
 * Message-level receiving (RFC 6455 5.4-5.6, 7.4, 8.1) on top of FrameParser:
 * reassembles fragments into messages, validates text as UTF-8 while it
 * streams, enforces maxMessage, decodes ping/pong/close.
 *
 * Any violation is reported once by onProtocolError(closeCode, reason) with the
 * close code the RFC asks for; the reader then stops (input ignored). After
 * a valid Close frame the reader also stops: nothing may follow it (5.5.1).
 *
 * Two delivery modes:
 * - streaming: onMessageStart(type, length), onMessageData(piece, last)...,
 *   onMessageEnd(). Memory stays bounded; maxMessage counts the total.
 *   A handler with onMessageRange gets each piece as a range of the fed
 *   chunk instead (no copy, no allocation for binary); onMessageData gets a
 *   copy of a piece that shares its chunk with a header.
 * - whole (default): onMessage(type, data) once the message is complete.
 *   A single-frame message that arrives in one piece is one slice of the
 *   chunk (one allocation, the message itself); otherwise it is assembled
 *   in a buffer sized from the declared frame lengths, into which a feeder
 *   with a socket may read the rest of each frame directly (pull()).
 *
 * Memory: the reader is its FrameParser (a subclass, one object per
 * connection), keeps its options object as given (one frozen object may
 * serve a whole route; it must not change afterwards), and holds a text
 * message's UTF-8 state as a number.
 *
 * Preload-safe: no module-level mutable state.
 */

import { CloseCode, type MessageType, Opcode, type Role } from "websocket/constants";
import { FrameParser, type PayloadSource } from "websocket/frame-parser";
import { validate } from "websocket/utf8";
import { isValidCloseCode, isValidUtf8 } from "websocket/validation";

/** Events of a MessageReader; implement on a long-lived object. Missing optional methods drop the event. */
export interface MessageHandler {
	/** Streaming mode: a message begins. length is its size when it is a single frame, else undefined. */
	onMessageStart?(type: MessageType, length: number | undefined): void;
	/** Streaming mode: next payload piece (byteLength > 0); last when it completes the message. */
	onMessageData?(piece: ArrayBuffer, last: boolean): void;
	/**
	 * Streaming mode, optional, preferred over onMessageData: the next piece as
	 * chunk[start, end) of the fed chunk (end > start), no copy. Write it
	 * (`new Uint8Array(chunk, start, end - start)`, or the chunk itself when
	 * the range spans it) or copy it before returning if the feeder reuses
	 * its chunks.
	 */
	onMessageRange?(chunk: ArrayBuffer, start: number, end: number, last: boolean): void;
	/** Streaming mode: the message is complete (always follows, also after a last piece or with no data at all). */
	onMessageEnd?(): void;
	/** Whole mode: a complete message. Text data is valid UTF-8 (decode with String.fromArrayBuffer). */
	onMessage?(type: MessageType, data: ArrayBuffer): void;
	/** A Ping (payload 0..125 bytes): answer with a Pong carrying the same payload (5.5.2). */
	onPing?(payload: ArrayBuffer): void;
	onPong?(payload: ArrayBuffer): void;
	/** A valid Close frame: code undefined when the frame had no payload (1005 for the app). */
	onCloseFrame?(code: number | undefined, reason: string): void;
	/** A protocol violation: send a Close with closeCode, then close the connection (7.1.7). */
	onProtocolError?(closeCode: number, reason: string): void;
}

export interface MessageReaderOptions {
	/** "server" requires masked frames, "client" unmasked ones. */
	role: Role;
	/** Largest message accepted, in bytes (1009 beyond). Default 65536. */
	maxMessage?: number;
	/** Deliver messages piece by piece (true) or whole (false, default). */
	streaming?: boolean;
	/** RSV bits an extension negotiated (0x40 = RSV1). Default 0: any RSV bit is an error. */
	allowedRsv?: number;
}

/** In MessageReader's type: the current frame is the message's last. */
const FIN = 0x80;
/** In MessageReader's type: the message's type. */
const TYPE_BITS = 0x3;

export class MessageReader<O extends MessageReaderOptions = MessageReaderOptions> extends FrameParser<MessageHandler, O> {
	// After FrameParser's fields (state, remaining: the current frame's bytes still to come, ...).
	/** Type of the message in progress (bits 0-1), 0 when none; FIN: the current frame is its last (one number, one slot). */
	private type = 0;
	/** Bytes of the message in progress so far, plus declared bytes of the current frame. */
	private total = 0;
	// Declared, not defined (TypeScript emits nothing): each is a property,
	// i.e. a slot on every connection, only once first set.
	/** websocket/utf8's state for the text message in progress (0 on a code point boundary, -1 invalid): set at the first text message. */
	declare private utf8: number;
	/** Whole mode: the current message is one frame not yet begun (it may arrive as one slice). */
	declare private single: boolean | undefined;
	/** Whole mode: the message assembled so far (an ArrayBuffer: pull() needs no getter for it). */
	declare private buffer: ArrayBuffer | undefined;
	declare private filled: number;
	/** Whole mode: the message taken whole from one piece. */
	declare private taken: ArrayBuffer | undefined;

	/** The reader keeps `options` (see above). */
	constructor(handler: MessageHandler, options: O) {
		super(handler, options);
	}

	// pull and the frame hooks first: XS finds a method by walking the prototype in
	// declaration order, this class's before FrameParser's (websocket/connection).

	/**
	 * Whole mode, inside a data frame of a message being assembled: read the
	 * frame's next payload bytes from source straight into the message
	 * (read(view): no buffer per read, nothing copied after), unmask and
	 * validate them there, and deliver the message if they complete it.
	 * Bytes read; 0 when the reader is not at such a point (feed() then).
	 * The message's buffer is there anyway (sized from the declared
	 * lengths): a read into it adds nothing to memory.
	 */
	pull(source: PayloadSource): number {
		if (!this.type) return 0; // (between messages: the common case, one field)
		const buffer = this.buffer;
		if (!buffer) return 0;
		const filled = this.filled;
		const count = this.pullPayload(source, buffer, filled);
		if (!count) return 0;
		// Text MUST be valid UTF-8; fail at the first byte that proves otherwise (8.1).
		if ((this.type & TYPE_BITS) === Opcode.TEXT && (this.utf8 = validate(buffer, filled, filled + count, this.utf8)) < 0) {
			this.reject(CloseCode.INVALID_PAYLOAD, "invalid UTF-8 in text message");
			return count;
		}
		this.filled = filled + count;
		if (this.remaining === 0) this.endDataFrame();
		return count;
	}

	/** @internal FrameParser hook: a data frame's header. */
	protected override frameStart(opcode: number, fin: boolean, length: number, _rsv: number): void {
		if (opcode === Opcode.CONTINUATION) {
			// A continuation frame needs a fragmented message in progress (5.4).
			if (!this.type) return this.reject(CloseCode.PROTOCOL_ERROR, "continuation frame without a message");
		} else {
			// A new data message may not start inside a fragmented one (5.4).
			if (this.type) return this.reject(CloseCode.PROTOCOL_ERROR, "new message inside a fragmented message");
			this.type = opcode;
			this.total = 0;
			if (!this.options.streaming) this.filled = 0;
			if (opcode === Opcode.TEXT) this.utf8 = 0;
		}
		// Judge the size from the declared length, before receiving or allocating anything (10.4).
		const total = this.total + length;
		const maxMessage = this.options.maxMessage ?? 65536; // (maxMessage, without a getter's call per frame)
		if (total > maxMessage) return this.reject(CloseCode.MESSAGE_TOO_BIG, `message over ${maxMessage} bytes`);
		this.total = total;
		this.type = (this.type & TYPE_BITS) | (fin ? FIN : 0);
		if (this.options.streaming) {
			if (opcode !== Opcode.CONTINUATION) this.handler.onMessageStart?.(opcode as MessageType, fin ? length : undefined);
		} else if (fin && opcode !== Opcode.CONTINUATION)
			this.single = length > 0; // reserve nothing yet: it may come as one piece
		else if (length) this.reserve(total);
	}

	/** @internal FrameParser hook: chunk[start, end), unmasked (the frame's bytes still to come are already counted down). */
	protected override framePiece(chunk: ArrayBuffer, start: number, end: number): void {
		const count = end - start;
		// Text MUST be valid UTF-8; fail at the first byte that proves otherwise (8.1).
		if ((this.type & TYPE_BITS) === Opcode.TEXT && (this.utf8 = validate(chunk, start, end, this.utf8)) < 0)
			return this.reject(CloseCode.INVALID_PAYLOAD, "invalid UTF-8 in text message");
		const remaining = this.remaining;
		if (this.options.streaming) {
			const last = (this.type & FIN) !== 0 && remaining === 0;
			const handler = this.handler;
			if (handler.onMessageRange) handler.onMessageRange(chunk, start, end, last);
			else handler.onMessageData?.(count === chunk.byteLength ? chunk : chunk.slice(start, end), last);
		} else if (this.single) {
			this.single = false;
			if (remaining === 0) {
				// The whole single-frame message in one piece: one slice, no assembly buffer.
				this.taken = count === chunk.byteLength ? chunk : chunk.slice(start, end);
				return;
			}
			this.reserve(this.total);
			new Uint8Array(this.buffer!).set(new Uint8Array(chunk, start, count), 0);
			this.filled = count;
		} else {
			new Uint8Array(this.buffer!).set(new Uint8Array(chunk, start, count), this.filled);
			this.filled += count;
		}
	}

	/** @internal FrameParser hook */
	protected override frameEnd(): void {
		if (!(this.type & FIN)) return;
		const type = this.type & TYPE_BITS;
		// The message is over: a split code point at its end is invalid too.
		if (type === Opcode.TEXT && this.utf8 !== 0) return this.reject(CloseCode.INVALID_PAYLOAD, "text message ends inside a UTF-8 sequence");
		this.type = 0;
		if (this.options.streaming) this.handler.onMessageEnd?.();
		else {
			const buffer = this.buffer,
				taken = this.taken;
			this.buffer = undefined;
			this.taken = undefined;
			this.single = false;
			let data: ArrayBuffer;
			if (taken) data = taken;
			else if (!buffer) data = new ArrayBuffer(0);
			else if (buffer.byteLength === this.filled) data = buffer;
			else data = buffer.slice(0, this.filled);
			this.handler.onMessage?.(type as MessageType, data);
		}
	}

	/** The options object as given (a WebSocket connection keeps its OpenOptions here, websocket/connection). */
	get given(): O {
		return this.options;
	}

	/** True when a fragmented message is in progress. */
	get inMessage(): boolean {
		return this.type !== 0;
	}

	/** Largest message accepted (options.maxMessage, default 65536). */
	private get maxMessage(): number {
		return this.options.maxMessage ?? 65536;
	}

	/** Ignore all further input; drops any partial message. */
	override stop(): void {
		super.stop();
		if (this.buffer || this.taken) this.buffer = this.taken = undefined;
	}

	/** @internal FrameParser hook */
	protected override frameControl(opcode: number, payload: ArrayBuffer): void {
		if (opcode === Opcode.PING) this.handler.onPing?.(payload);
		else if (opcode === Opcode.PONG) this.handler.onPong?.(payload);
		else this.close(payload);
	}

	/** @internal FrameParser hook: a frame rule broken (the parser stopped, which dropped any partial message). */
	protected override frameError(closeCode: number, reason: string): void {
		this.handler.onProtocolError?.(closeCode, reason);
	}

	/** Close frame body: nothing, or a 2-byte code then a UTF-8 reason (5.5.1). */
	private close(payload: ArrayBuffer): void {
		const length = payload.byteLength;
		if (length === 0) {
			this.stop();
			this.handler.onCloseFrame?.(undefined, "");
			return;
		}
		if (length === 1) return this.reject(CloseCode.PROTOCOL_ERROR, "close payload of 1 byte");
		const bytes = new Uint8Array(payload);
		const code = (bytes[0] << 8) | bytes[1];
		if (!isValidCloseCode(code)) return this.reject(CloseCode.PROTOCOL_ERROR, `invalid close code ${code}`);
		let reason = "";
		if (length > 2) {
			const text = bytes.subarray(2);
			if (!isValidUtf8(text)) return this.reject(CloseCode.INVALID_PAYLOAD, "close reason is not UTF-8");
			reason = String.fromArrayBuffer(payload.slice(2));
		}
		this.stop();
		this.handler.onCloseFrame?.(code, reason);
	}

	/** Whole mode: make room for `size` bytes. */
	private reserve(size: number): void {
		const buffer = this.buffer;
		if (buffer && buffer.byteLength >= size) return;
		// Grow geometrically (capped at maxMessage) so many small fragments don't copy quadratically.
		if (buffer) size = Math.max(size, Math.min(buffer.byteLength * 2, this.maxMessage));
		const next = new ArrayBuffer(size);
		if (buffer && this.filled) new Uint8Array(next).set(new Uint8Array(buffer, 0, this.filled));
		this.buffer = next;
	}

	/** Stop and report onProtocolError (FrameParser's fail: stop() drops a partial message, then frameError). */
	private reject(closeCode: number, reason: string): void {
		this.fail(closeCode, reason);
	}
}
