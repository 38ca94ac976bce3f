/*
 * Streaming WebSocket frame receiver (RFC 6455 5.2): a state machine fed
 * ArrayBuffer chunks split anywhere (one byte at a time works, several
 * frames per chunk too).
 *
 * - Data frames (continuation/text/binary) are streamed: onFrameStart, then
 *   onData for each piece as it arrives (never empty), then onFrameEnd.
 *   Memory stays bounded whatever the frame length.
 * - Control frames (close/ping/pong, at most 125 bytes) are buffered and
 *   delivered once, whole, by onControl.
 * - Payloads are unmasked in place by websocket/mask (C, a machine word at
 *   a time), the 4-byte key held as a number rotated to the piece's offset
 *   within the frame.
 *
 * The parser rejects what a single frame header makes certain (reason in
 * onProtocolError, then it stops): RSV bits not allowed, reserved opcodes, control
 * frames fragmented or longer than 125, masking contrary to the role,
 * 64-bit lengths with the top bit set. Rules spanning frames (fragment
 * order, UTF-8, sizes, close payloads) are MessageReader's.
 *
 * Ownership: feed() takes the chunk; the payload is unmasked in place.
 * - A handler with onDataRange gets each piece as a range of the chunk: no
 *   copy; the only allocation is a view (slots, no chunk) per read that
 *   holds a header.
 *   The range is valid while the chunk is not reused by its feeder.
 * - Otherwise onData gets the chunk itself when a piece spans all of it,
 *   else a copy (slice) of the piece: one allocation per small message.
 * Do not reuse a chunk after feeding it unless every handler in the chain
 * uses the ranges within the call only.
 *
 * Memory: a parser is one object of a few numbers. It keeps its options
 * object as given (not a copy of its fields: a slot each), so one frozen
 * object may serve every parser of a route; it must not change afterwards.
 * A subclass (websocket/message-reader) overrides the frame* hooks instead
 * of being a handler of its own: one object per connection, not two.
 */

import { CloseCode, MAX_CONTROL_PAYLOAD, Opcode, type Role } from "websocket/constants";
import { unmask } from "websocket/mask";

/** What the parser reports; implement it on a long-lived object (no closures per frame). */
export interface FrameHandler {
	/** A data frame's header: opcode 0 (continuation), 1 (text) or 2 (binary); length in bytes. */
	onFrameStart(opcode: number, fin: boolean, length: number, rsv: number): void;
	/** Next unmasked piece of the current data frame's payload (byteLength > 0). Not called when onDataRange exists. */
	onData(piece: ArrayBuffer): void;
	/** Optional, preferred: the next unmasked piece as chunk[start, end) of the fed chunk (end > start). No copy is made for it. */
	onDataRange?(chunk: ArrayBuffer, start: number, end: number): void;
	/** The current data frame's payload is complete. */
	onFrameEnd(): void;
	/** A whole, unmasked control frame: opcode 8 (close), 9 (ping) or 10 (pong). */
	onControl(opcode: number, payload: ArrayBuffer): void;
	/** The input broke a frame rule; the parser has stopped. */
	onProtocolError(closeCode: number, reason: string): void;
}

export interface FrameParserOptions {
	/** "server": frames must be masked (RFC 6455 5.1); "client": frames must not be. */
	role: Role;
	/** RSV bits a negotiated extension allows, as header bits (0x40 RSV1, 0x20 RSV2, 0x10 RSV3). Default 0. */
	allowedRsv?: number;
}

/** What pullPayload reads from: a socket's connection (tcp/connection's TcpEndpoint has both). */
export interface PayloadSource {
	/** Bytes waiting. */
	readonly readable: number;
	/** Read length (view.length) waiting bytes into view (no more than readable). */
	read(view: Uint8Array, length: number): number;
}

const HEADER = 0; // collecting the 2..14 header bytes
const DATA = 1; // streaming a data frame's payload
const CONTROL = 2; // buffering a control frame's payload (its opcode: controlOpcode)
const STOPPED = 3; // after an error or stop(): input ignored

/** 2^53 - 1: larger lengths can't be counted exactly in a Number. */
const MAX_LENGTH_HIGH = 0x1fffff;

/** Bytes of a header whose second byte is b1: MASK bit and 7-bit length decide (5.2). */
function headerSize(b1: number): number {
	const length7 = b1 & 0x7f;
	return 2 + (length7 === 126 ? 2 : length7 === 127 ? 8 : 0) + (b1 & 0x80 ? 4 : 0);
}

export class FrameParser<H = FrameHandler, O extends FrameParserOptions = FrameParserOptions> {
	// Hot fields first: XS finds an instance's properties by walking them in
	// creation order, so the order of these declarations is the cost of
	// `this.x` (and of reaching the prototype's methods, after all of them).
	protected state = HEADER;
	/** Payload bytes of the current frame still to come. */
	protected remaining = 0;
	/**
	 * The current frame's masking key, rotated to the next payload byte (5.3):
	 * the key byte for it in the top 8 bits (a number: no buffer per
	 * connection, no offset to keep); 0: nothing to unmask.
	 */
	private mask = 0;
	protected readonly handler: H;
	/** The options, kept as given (see above): its owner may reach its own fields there. */
	readonly options: O;
	/** Header bytes so far (a header split across reads); at most 2 + 8 + 4. */
	private have = 0;
	// Declared, not defined: a property (a slot on every connection) only once first set.
	/** Made when a header first arrives split across reads, then kept: a parser that never sees one holds none. */
	declare private header: Uint8Array | undefined;
	/** A control frame's payload while it arrives, and its opcode (deleted once delivered: no slots between control frames). */
	declare private control: Uint8Array | undefined;
	declare private controlOpcode: number | undefined;

	constructor(handler: H, options: O) {
		this.handler = handler;
		this.options = options;
	}

	// feed and what it calls per frame first: XS finds a method by walking the
	// prototype in declaration order (websocket/connection).

	/** Parse the next bytes of the stream. The parser owns `chunk` from now on. */
	feed(chunk: ArrayBuffer): void {
		const end = chunk.byteLength;
		let bytes: Uint8Array | undefined;
		let at = 0;
		while (at < end) {
			const state = this.state;
			if (state === HEADER) {
				bytes ??= new Uint8Array(chunk);
				if (this.have === 0 && end - at >= 2) {
					// Fast path: the whole header is in this read; decode it where it lies.
					const b1 = bytes[at + 1];
					const need = headerSize(b1);
					if (end - at >= need) {
						if (!this.checkFirstBytes(bytes[at], b1) || !this.startFrame(bytes, at)) return;
						at += need;
						continue;
					}
				}
				const header = (this.header ??= new Uint8Array(14));
				let have = this.have;
				if (have < 2) {
					while (have < 2 && at < end) header[have++] = bytes[at++];
					this.have = have;
					if (have < 2) return;
					if (!this.checkFirstBytes(header[0], header[1])) return;
				}
				// Past the second byte the header's size is known from it (no field of its own).
				const need = headerSize(header[1]);
				while (have < need && at < end) header[have++] = bytes[at++];
				this.have = have;
				if (have < need) return;
				if (!this.startFrame(header, 0)) return;
			} else if (state === DATA) {
				const count = Math.min(this.remaining, end - at);
				// Unmask in place, the piece's range of the chunk (no view, no copy); the key comes
				// back rotated past it. A zero key (or an unmasked frame, for a client) needs nothing.
				if (this.mask) this.mask = unmask(chunk, at, at + count, this.mask);
				this.remaining -= count;
				this.framePiece(chunk, at, at + count);
				at += count;
				if (this.state !== DATA) return; // stopped by the handler
				if (this.remaining === 0) this.endDataFrame();
			} else if (state === CONTROL) {
				const count = Math.min(this.remaining, end - at);
				const control = this.control!;
				control.set(new Uint8Array(chunk, at, count), control.byteLength - this.remaining);
				at += count;
				this.remaining -= count;
				if (this.remaining === 0) this.endControlFrame();
			} else return;
		}
	}

	/** The header, at header[base...], is complete: decode length and mask, enter the payload state. */
	private startFrame(header: Uint8Array, base: number): boolean {
		const b0 = header[base];
		const b1 = header[base + 1];
		const length7 = b1 & 0x7f;
		let length = length7,
			at = base + 2;
		if (length7 === 126) {
			length = (header[base + 2] << 8) | header[base + 3];
			at = base + 4;
		} else if (length7 === 127) {
			const high = ((header[base + 2] << 24) | (header[base + 3] << 16) | (header[base + 4] << 8) | header[base + 5]) >>> 0;
			// The most significant bit of a 64-bit length MUST be 0 (5.2).
			if (high & 0x80000000) return this.fail(CloseCode.PROTOCOL_ERROR, "64-bit payload length with top bit set");
			if (high > MAX_LENGTH_HIGH) return this.fail(CloseCode.MESSAGE_TOO_BIG, "payload length over 2^53 - 1");
			length = high * 0x100000000 + (((header[base + 6] << 24) | (header[base + 7] << 16) | (header[base + 8] << 8) | header[base + 9]) >>> 0);
			at = base + 10;
		}
		// Lengths need not be minimally encoded here: RFC 6455 binds senders, receivers need not check.
		// (checkFirstBytes made the MASK bit agree with the role.)
		this.mask = b1 & 0x80 ? (header[at] << 24) | (header[at + 1] << 16) | (header[at + 2] << 8) | header[at + 3] : 0;
		this.have = 0;
		this.remaining = length;
		const opcode = b0 & 0x0f;
		if (opcode & 0x8) {
			this.control = new Uint8Array(length);
			this.controlOpcode = opcode;
			this.state = CONTROL;
			if (length === 0) this.endControlFrame();
			return this.state < STOPPED; // (not stopped by a hook: STOPPED is the last state)
		}
		this.state = DATA;
		this.frameStart(opcode, (b0 & 0x80) !== 0, length, b0 & 0x70);
		if (this.state !== DATA) return false;
		if (length === 0) this.endDataFrame();
		return this.state < STOPPED; // (not stopped by a hook: STOPPED is the last state)
	}

	/** FIN/RSV/opcode/MASK rules decidable from the first two bytes. */
	private checkFirstBytes(b0: number, b1: number): boolean {
		const opcode = b0 & 0x0f;
		// RSV1-3 MUST be 0 unless an extension defines them (5.2).
		if (b0 & 0x70 && b0 & 0x70 & ~(this.options.allowedRsv ?? 0))
			// (no RSV bit, the common case: no lookup)
			return this.fail(CloseCode.PROTOCOL_ERROR, "reserved bits set");
		// Opcodes 3-7 and 0xB-0xF are reserved (5.2).
		if ((opcode > Opcode.BINARY && opcode < Opcode.CLOSE) || opcode > Opcode.PONG) return this.fail(CloseCode.PROTOCOL_ERROR, `reserved opcode ${opcode}`);
		if (opcode & 0x8) {
			// Control frames MUST NOT be fragmented and carry at most 125 bytes (5.5).
			if (!(b0 & 0x80)) return this.fail(CloseCode.PROTOCOL_ERROR, "fragmented control frame");
			if ((b1 & 0x7f) > MAX_CONTROL_PAYLOAD) return this.fail(CloseCode.PROTOCOL_ERROR, "control frame payload over 125 bytes");
		}
		// A server MUST close on an unmasked client frame; a client on a masked server frame (5.1).
		const masked = this.options.role === "server";
		if (!(b1 & 0x80) === masked) return this.fail(CloseCode.PROTOCOL_ERROR, masked ? "unmasked frame from client" : "masked frame from server");
		return true;
	}

	protected endDataFrame(): void {
		this.state = HEADER;
		this.frameEnd();
	}

	/**
	 * For a subclass that assembles payloads itself: while a data frame's
	 * payload streams, read as much of it as source holds (at most what
	 * remains of the frame) straight into the buffer `into` at `at` (read(view)),
	 * unmask it there, and count it down. How many bytes; 0 when no payload
	 * streams or none waits. The caller accounts for them, and ends the
	 * frame (endDataFrame) when none remain.
	 */
	protected pullPayload(source: PayloadSource, into: ArrayBuffer, at: number): number {
		if (this.state !== DATA) return 0;
		const remaining = this.remaining;
		let count = source.readable;
		if (count > remaining) count = remaining;
		if (!count) return 0;
		const target = new Uint8Array(into, at, count);
		source.read(target, count);
		const mask = this.mask;
		if (mask) this.mask = unmask(into, at, at + count, mask);
		this.remaining = remaining - count;
		return count;
	}

	/** Whether the parser stopped (error or stop()). */
	get stopped(): boolean {
		return this.state === STOPPED;
	}

	/** True between frames: no partial header or payload pending. */
	get idle(): boolean {
		return this.state === HEADER && this.have === 0;
	}

	/** Ignore all further input (e.g. after a Close frame). */
	stop(): void {
		this.state = STOPPED;
		if (this.control) {
			delete this.control;
			delete this.controlOpcode;
		}
	}

	/* Hooks: the handler's events. A subclass overrides them to be its own handler. */

	/** A data frame's header (FrameHandler.onFrameStart). */
	protected frameStart(opcode: number, fin: boolean, length: number, rsv: number): void {
		(this.handler as FrameHandler).onFrameStart(opcode, fin, length, rsv);
	}

	/** chunk[start, end), unmasked: onDataRange, else onData with the chunk itself when the piece spans it, else a copy. */
	protected framePiece(chunk: ArrayBuffer, start: number, end: number): void {
		const handler = this.handler as FrameHandler;
		if (handler.onDataRange) handler.onDataRange(chunk, start, end);
		else handler.onData(end - start === chunk.byteLength ? chunk : chunk.slice(start, end));
	}

	protected frameEnd(): void {
		(this.handler as FrameHandler).onFrameEnd();
	}

	protected frameControl(opcode: number, payload: ArrayBuffer): void {
		(this.handler as FrameHandler).onControl(opcode, payload);
	}

	protected frameError(closeCode: number, reason: string): void {
		(this.handler as FrameHandler).onProtocolError(closeCode, reason);
	}

	private endControlFrame(): void {
		const payload = this.control!.buffer as ArrayBuffer;
		const opcode = this.controlOpcode!;
		delete this.control;
		delete this.controlOpcode;
		if (this.mask && payload.byteLength) unmask(payload, 0, payload.byteLength, this.mask);
		this.state = HEADER;
		this.frameControl(opcode, payload);
	}

	/** Stop, and report the broken rule (frameError). */
	protected fail(closeCode: number, reason: string): false {
		this.stop();
		this.frameError(closeCode, reason);
		return false;
	}
}
