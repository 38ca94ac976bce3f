// bench xs "before" reference: websocket/frame-parser.ts as of commit 51e55cb, before the issue-12 hot-path changes. Measured side by side with the current file in the same XS run; not used by the device.
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
 * - Payloads are unmasked with the native Logical.xor, the 4-byte key
 *   rotated to the piece's offset within the frame.
 *
 * The parser rejects what a single frame header makes certain (reason in
 * onError, then it stops): RSV bits not allowed, reserved opcodes, control
 * frames fragmented or longer than 125, masking contrary to the role,
 * 64-bit lengths with the top bit set. Rules spanning frames (fragment
 * order, UTF-8, sizes, close payloads) are MessageReader's.
 *
 * Ownership: feed() takes the chunk. Data pieces are slices of it, or the
 * chunk itself (unmasked in place) when a piece spans all of it; do not
 * reuse a chunk after feeding it.
 */

import Logical from "logical";
import { CloseCode, MAX_CONTROL_PAYLOAD, Opcode, type Role } from "websocket/constants";

/** What the parser reports; implement it on a long-lived object (no closures per frame). */
export interface FrameHandler {
	/** A data frame's header: opcode 0 (continuation), 1 (text) or 2 (binary); length in bytes. */
	onFrameStart(opcode: number, fin: boolean, length: number, rsv: number): void;
	/** Next unmasked piece of the current data frame's payload (byteLength > 0). */
	onData(piece: ArrayBuffer): void;
	/** The current data frame's payload is complete. */
	onFrameEnd(): void;
	/** A whole, unmasked control frame: opcode 8 (close), 9 (ping) or 10 (pong). */
	onControl(opcode: number, payload: ArrayBuffer): void;
	/** The input broke a frame rule; the parser has stopped. */
	onError(closeCode: number, reason: string): void;
}

export interface FrameParserOptions {
	/** "server": frames must be masked (RFC 6455 5.1); "client": frames must not be. */
	role: Role;
	/** RSV bits a negotiated extension allows, as header bits (0x40 RSV1, 0x20 RSV2, 0x10 RSV3). Default 0. */
	allowedRsv?: number;
}

const HEADER = 0;		// collecting the 2..14 header bytes
const DATA = 1;			// streaming a data frame's payload
const CONTROL = 2;		// buffering a control frame's payload
const STOPPED = 3;		// after an error or stop(): input ignored

/** 2^53 - 1: larger lengths can't be counted exactly in a Number. */
const MAX_LENGTH_HIGH = 0x1FFFFF;

export class FrameParser {
	private readonly handler: FrameHandler;
	private readonly masked: boolean;
	private readonly allowedRsv: number;

	private state = HEADER;
	/** Header bytes so far; at most 2 + 8 + 4. */
	private readonly header = new Uint8Array(14);
	private have = 0;
	private need = 2;

	private opcode = 0;
	/** Payload bytes of the current frame still to come. */
	private remaining = 0;
	/** Payload bytes of the current frame seen so far (mask rotation). */
	private offset = 0;

	/** The masking key twice, and a 4-byte view at each rotation: no allocation per frame. */
	private readonly maskBytes = new Uint8Array(8);
	private readonly maskViews: Uint8Array[];

	private control: Uint8Array | undefined;

	constructor(handler: FrameHandler, options: FrameParserOptions) {
		this.handler = handler;
		this.masked = options.role === "server";
		this.allowedRsv = (options.allowedRsv ?? 0) & 0x70;
		const buffer = this.maskBytes.buffer;
		this.maskViews = [0, 1, 2, 3].map(rotation => new Uint8Array(buffer, rotation, 4));
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
		this.control = undefined;
	}

	/** Parse the next bytes of the stream. The parser owns `chunk` from now on. */
	feed(chunk: ArrayBuffer): void {
		const end = chunk.byteLength;
		let bytes: Uint8Array | undefined;
		let at = 0;
		while (at < end) {
			const state = this.state;
			if (state === HEADER) {
				bytes ??= new Uint8Array(chunk);
				const header = this.header;
				let have = this.have, need = this.need;
				while (have < need && at < end)
					header[have++] = bytes[at++];
				this.have = have;
				if (have < need)
					return;
				if (need === 2) {
					// Second byte: MASK bit and 7-bit length decide the header size (5.2).
					const length7 = header[1] & 0x7F;
					need = 2 + (length7 === 126 ? 2 : length7 === 127 ? 8 : 0) + (header[1] & 0x80 ? 4 : 0);
					if (!this.checkFirstBytes())
						return;
					this.need = need;
					if (have < need)
						continue;
				}
				if (!this.startFrame())
					return;
			}
			else if (state === DATA) {
				const count = Math.min(this.remaining, end - at);
				let piece: ArrayBuffer;
				if (at === 0 && count === end)
					piece = chunk;
				else
					piece = chunk.slice(at, at + count);
				at += count;
				if (this.masked) {
					Logical.xor(piece, this.maskViews[this.offset & 3]);
					this.offset += count;
				}
				this.remaining -= count;
				this.handler.onData(piece);
				if (this.state !== DATA)
					return;		// stopped by the handler
				if (this.remaining === 0)
					this.endDataFrame();
			}
			else if (state === CONTROL) {
				const count = Math.min(this.remaining, end - at);
				const control = this.control!;
				control.set(new Uint8Array(chunk, at, count), this.offset);
				at += count;
				this.offset += count;
				this.remaining -= count;
				if (this.remaining === 0)
					this.endControlFrame();
			}
			else
				return;		// STOPPED
		}
	}

	/** FIN/RSV/opcode/MASK rules decidable from the first two bytes. */
	private checkFirstBytes(): boolean {
		const b0 = this.header[0], b1 = this.header[1];
		const opcode = b0 & 0x0F;
		// RSV1-3 MUST be 0 unless an extension defines them (5.2).
		if (b0 & 0x70 & ~this.allowedRsv)
			return this.fail(CloseCode.PROTOCOL_ERROR, "reserved bits set");
		// Opcodes 3-7 and 0xB-0xF are reserved (5.2).
		if ((opcode > Opcode.BINARY && opcode < Opcode.CLOSE) || opcode > Opcode.PONG)
			return this.fail(CloseCode.PROTOCOL_ERROR, `reserved opcode ${opcode}`);
		if (opcode & 0x8) {
			// Control frames MUST NOT be fragmented and carry at most 125 bytes (5.5).
			if (!(b0 & 0x80))
				return this.fail(CloseCode.PROTOCOL_ERROR, "fragmented control frame");
			if ((b1 & 0x7F) > MAX_CONTROL_PAYLOAD)
				return this.fail(CloseCode.PROTOCOL_ERROR, "control frame payload over 125 bytes");
		}
		// A server MUST close on an unmasked client frame; a client on a masked server frame (5.1).
		if (!(b1 & 0x80) === this.masked)
			return this.fail(CloseCode.PROTOCOL_ERROR, this.masked ? "unmasked frame from client" : "masked frame from server");
		return true;
	}

	/** The header is complete: decode length and mask, enter the payload state. */
	private startFrame(): boolean {
		const header = this.header;
		const b0 = header[0];
		const length7 = header[1] & 0x7F;
		let length = length7, at = 2;
		if (length7 === 126) {
			length = (header[2] << 8) | header[3];
			at = 4;
		}
		else if (length7 === 127) {
			const high = ((header[2] << 24) | (header[3] << 16) | (header[4] << 8) | header[5]) >>> 0;
			// The most significant bit of a 64-bit length MUST be 0 (5.2).
			if (high & 0x80000000)
				return this.fail(CloseCode.PROTOCOL_ERROR, "64-bit payload length with top bit set");
			if (high > MAX_LENGTH_HIGH)
				return this.fail(CloseCode.MESSAGE_TOO_BIG, "payload length over 2^53 - 1");
			length = high * 0x100000000 + (((header[6] << 24) | (header[7] << 16) | (header[8] << 8) | header[9]) >>> 0);
			at = 10;
		}
		// Lengths need not be minimally encoded here: RFC 6455 binds senders, receivers need not check.
		if (this.masked) {
			const mask = this.maskBytes;
			mask[0] = mask[4] = header[at];
			mask[1] = mask[5] = header[at + 1];
			mask[2] = mask[6] = header[at + 2];
			mask[3] = mask[7] = header[at + 3];
		}
		this.have = 0;
		this.need = 2;
		this.offset = 0;
		this.remaining = length;
		const opcode = b0 & 0x0F;
		this.opcode = opcode;
		if (opcode & 0x8) {
			this.control = new Uint8Array(length);
			this.state = CONTROL;
			if (length === 0)
				this.endControlFrame();
			return !this.stopped;
		}
		this.state = DATA;
		this.handler.onFrameStart(opcode, (b0 & 0x80) !== 0, length, b0 & 0x70);
		if (this.state !== DATA)
			return false;
		if (length === 0)
			this.endDataFrame();
		return !this.stopped;
	}

	private endDataFrame(): void {
		this.state = HEADER;
		this.handler.onFrameEnd();
	}

	private endControlFrame(): void {
		const payload = this.control!.buffer as ArrayBuffer;
		this.control = undefined;
		if (this.masked && payload.byteLength)
			Logical.xor(payload, this.maskViews[0]);
		this.state = HEADER;
		this.handler.onControl(this.opcode, payload);
	}

	private fail(closeCode: number, reason: string): false {
		this.stop();
		this.handler.onError(closeCode, reason);
		return false;
	}
}
