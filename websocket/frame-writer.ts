/*
 * WebSocket frame builder (RFC 6455 5.2): text, binary, continuation, ping,
 * pong and close frames, FIN flag, minimal length encoding, and masking in
 * the client role (a fresh 4-byte key per frame, applied with the native
 * Logical.xor).
 *
 * Two ways to build a frame:
 * - text/binary/continuation/ping/pong/close/frame(): one ArrayBuffer,
 *   header and payload together (the payload is copied). Simple; fine for
 *   control frames and small messages.
 * - header() then payload() for each piece: the header alone, then the
 *   payload as it becomes available. The server role sends the caller's
 *   buffers as they are (no copy); the client role returns masked copies,
 *   the key rotated to each piece's offset. Stream a large message this way
 *   with bounded memory.
 * - scratchFrame(): a frame of at most smallPayload bytes built in the
 *   writer's own buffer, reused by the next call: no allocation per frame,
 *   and one socket write for header and payload.
 *
 * Preload-safe: no module-level mutable state.
 */

import Logical from "logical";
import { MAX_CONTROL_PAYLOAD, Opcode, type Role } from "websocket/constants";
import { isValidCloseCode } from "websocket/validation";

export interface FrameWriterOptions {
	/** "client" masks every frame (RFC 6455 5.3); "server" never does (5.1). */
	role: Role;
	/** Random numbers in [0, 1) for masking keys; default Math.random (esp_random() on ESP32). */
	random?: () => number;
}

/**
 * Largest payload scratchFrame() takes. Copying it into the scratch costs
 * less than a second socket write for the payload alone up to about 16 KiB
 * on the bench machine's XS (bench xs, a memory socket: 1 KiB copied and
 * written once, 0.81 µs; header and payload written apart, 1.0 µs), and on
 * a board a second write is also a second TCP segment (nodelay); the bound
 * is the scratch's memory, kept by the writer (one per server).
 */
export const smallPayload = 1024;

/** Payload accepted by the builders: bytes, or a string sent as its UTF-8 bytes. */
export type Payload = ArrayBuffer | Uint8Array | string;

export class FrameWriter {
	// Hot fields first: XS finds an instance's properties by walking them in
	// creation order (see FrameParser).
	private readonly masking: boolean;
	/** Streaming frame begun by header(): bytes still expected and bytes written. */
	private remaining = 0;
	private offset = 0;
	/** Client role only: the current key twice, and a 4-byte view at each rotation (a server never masks, 5.1). */
	private readonly maskBytes: Uint8Array | undefined;
	private readonly maskViews: readonly Uint8Array[] | undefined;
	private readonly random: () => number;
	/** scratchFrame()'s buffer (a server's: 127 bytes, then its largest; a client's: grown to the largest frame it built, at most smallPayload + 8 bytes), its size, and its last frame (a view) and that frame's length. */
	declare private scratch: Uint8Array | undefined;
	declare private scratchSize: number;
	declare private scratchView: Uint8Array | undefined;
	/** The length of the frame scratchFrame() built last. */
	declare scratchLength: number;

	/**
	 * A server-role writer holds no per-frame state between calls beyond a
	 * header()/payload() pair, so one may serve many connections when each
	 * frame is built synchronously (websocket/server shares one).
	 */
	constructor(options: FrameWriterOptions) {
		this.masking = options.role === "client";
		this.random = options.random ?? Math.random;
		if (this.masking) {
			const mask = (this.maskBytes = new Uint8Array(8));
			const buffer = mask.buffer;
			this.maskViews = [0, 1, 2, 3].map(rotation => new Uint8Array(buffer, rotation, 4));
		} else {
			// A server's writer is made once, at its start, and shared: its scratch
			// is made then too, for every frame of a 7-bit length, and at the first
			// longer one it grows to its largest (a 4-byte header and smallPayload)
			// at once. Grown to each larger piece in turn, it would end a few bytes
			// apart after each burst of traffic, as the pieces an echo streams
			// follow TCP's segments: the heaps after churn would not come back to
			// one figure. A client's writer makes its own at its first frame and
			// grows it to fit (it goes with its connection).
			const scratch = (this.scratch = this.scratchView = new Uint8Array(127));
			this.scratchSize = this.scratchLength = scratch.length;
		}
	}

	// scratchFrame, header and payloadView first: XS finds a method by walking the
	// prototype in declaration order (websocket/connection).

	/**
	 * One whole data frame of `length` (data.byteLength, at most
	 * smallPayload) bytes, masked in the client role, built in the writer's
	 * scratch buffer: valid until the next call, so write it at once (a
	 * socket copies what it takes); scratchLength is its length. No
	 * allocation when the frame is as long as the one before.
	 */
	scratchFrame(opcode: number, data: Uint8Array, length: number, fin: boolean): Uint8Array {
		// A data frame (0, 1, 2) of at most smallPayload bytes: a 2- or 4-byte header (5.2), and a key when masking.
		if (opcode !== (opcode & 3) || opcode === 3 || length > smallPayload)
			throw new RangeError(opcode === (opcode & 3) && opcode !== 3 ? `scratchFrame() takes at most ${smallPayload} bytes` : `invalid opcode ${opcode}`);
		const masking = this.masking;
		const headerLength = (length < 126 ? 2 : 4) + (masking ? 4 : 0);
		const total = headerLength + length;
		let scratch = this.scratch;
		if (!scratch || this.scratchSize < total) {
			const size = masking ? total : 4 + smallPayload;
			scratch = this.scratch = this.scratchView = new Uint8Array(size);
			this.scratchSize = this.scratchLength = size;
		}
		if (masking) this.writeHeader(scratch, opcode, fin, length);
		else {
			scratch[0] = fin ? 0x80 | opcode : opcode;
			if (length < 126) scratch[1] = length;
			else {
				scratch[1] = 126;
				scratch[2] = length >> 8;
				scratch[3] = length & 0xff;
			}
		}
		if (length) {
			scratch.set(data, headerLength);
			if (masking) Logical.xor(scratch.subarray(headerLength, total), this.maskViews![0]);
		}
		if (this.scratchLength === total) return this.scratchView!;
		this.scratchLength = total;
		return (this.scratchView = scratch.subarray(0, total));
	}

	/**
	 * Start a frame of `length` payload bytes: returns its header only (with
	 * the masking key in the client role). Follow with payload() calls
	 * totalling exactly `length` bytes.
	 */
	header(opcode: number, fin: boolean, length: number): ArrayBuffer {
		if (this.remaining) throw new Error("previous frame's payload incomplete");
		const headerLength = this.writeHeaderCheck(opcode, fin, length);
		const out = new Uint8Array(headerLength);
		this.writeHeader(out, opcode, fin, length);
		this.remaining = length;
		this.offset = 0;
		return out.buffer as ArrayBuffer;
	}

	/**
	 * Next piece of the frame started by header(), as a view: server role, the
	 * caller's bytes themselves (no copy: they must not change until written);
	 * client role, a masked copy.
	 */
	payloadView(piece: Uint8Array): Uint8Array {
		if (this.masking) return new Uint8Array(this.payload(piece));
		const length = piece.byteLength;
		if (length > this.remaining) throw new RangeError("payload longer than the frame header declared");
		this.remaining -= length;
		return piece;
	}

	text(text: string, fin = true): ArrayBuffer {
		return this.frame(Opcode.TEXT, text, fin);
	}

	binary(data: Payload, fin = true): ArrayBuffer {
		return this.frame(Opcode.BINARY, data, fin);
	}

	continuation(data: Payload, fin = true): ArrayBuffer {
		return this.frame(Opcode.CONTINUATION, data, fin);
	}

	ping(payload?: Payload): ArrayBuffer {
		return this.frame(Opcode.PING, payload);
	}

	pong(payload?: Payload): ArrayBuffer {
		return this.frame(Opcode.PONG, payload);
	}

	/** A Close frame; see closePayload for code and reason rules. */
	close(code?: number, reason?: string): ArrayBuffer {
		return this.frame(Opcode.CLOSE, closePayload(code, reason));
	}

	/** One whole frame, header and (masked) payload in a single new ArrayBuffer. */
	frame(opcode: number, data?: Payload, fin = true): ArrayBuffer {
		const bytes = toBytes(data);
		const length = bytes ? bytes.byteLength : 0;
		const headerLength = this.writeHeaderCheck(opcode, fin, length);
		const out = new Uint8Array(headerLength + length);
		this.writeHeader(out, opcode, fin, length);
		if (bytes && length) {
			out.set(bytes, headerLength);
			if (this.masking) Logical.xor(out.subarray(headerLength), this.maskViews![0]);
		}
		return out.buffer as ArrayBuffer;
	}

	/**
	 * Next piece of the frame started by header(). Server role: the piece
	 * itself as an ArrayBuffer (no copy when `piece` is a whole ArrayBuffer).
	 * Client role: a masked copy; `piece` is not modified.
	 */
	payload(piece: ArrayBuffer | Uint8Array): ArrayBuffer {
		const length = piece.byteLength;
		if (length > this.remaining) throw new RangeError("payload longer than the frame header declared");
		this.remaining -= length;
		let out: ArrayBuffer;
		if (piece instanceof ArrayBuffer) out = this.masking ? piece.slice(0) : piece;
		else if (!this.masking && piece.byteOffset === 0 && piece.byteLength === piece.buffer.byteLength) out = piece.buffer as ArrayBuffer;
		else out = (piece.buffer as ArrayBuffer).slice(piece.byteOffset, piece.byteOffset + length);
		if (this.masking && length) {
			Logical.xor(out, this.maskViews![this.offset & 3]);
			this.offset += length;
		}
		return out;
	}

	/** Payload bytes the frame begun by header() still expects. */
	get pending(): number {
		return this.remaining;
	}

	/** Validate a frame and return its header size. */
	private writeHeaderCheck(opcode: number, fin: boolean, length: number): number {
		if (opcode & 0x8) {
			if (opcode > Opcode.PONG) throw new RangeError(`invalid opcode ${opcode}`);
			// Control frames: FIN set and at most 125 bytes (RFC 6455 5.5).
			if (!fin) throw new RangeError("control frames cannot be fragmented");
			if (length > MAX_CONTROL_PAYLOAD) throw new RangeError("control frame payload over 125 bytes");
		} else if (opcode > Opcode.BINARY || opcode < 0) throw new RangeError(`invalid opcode ${opcode}`);
		if (!(length >= 0 && length <= Number.MAX_SAFE_INTEGER) || Math.floor(length) !== length) throw new RangeError(`invalid payload length ${length}`);
		return (length < 126 ? 2 : length < 65536 ? 4 : 10) + (this.masking ? 4 : 0);
	}

	/** FIN, opcode, MASK, the minimal length encoding (5.2) and a fresh masking key (5.3). */
	private writeHeader(out: Uint8Array, opcode: number, fin: boolean, length: number): void {
		out[0] = (fin ? 0x80 : 0) | opcode;
		const maskBit = this.masking ? 0x80 : 0;
		let at: number;
		if (length < 126) {
			out[1] = maskBit | length;
			at = 2;
		} else if (length < 65536) {
			out[1] = maskBit | 126;
			out[2] = length >> 8;
			out[3] = length & 0xff;
			at = 4;
		} else {
			out[1] = maskBit | 127;
			const high = Math.floor(length / 0x100000000),
				low = length >>> 0;
			out[2] = 0; // high < 2^21: the top bit stays 0 (5.2)
			out[3] = (high >> 16) & 0xff;
			out[4] = (high >> 8) & 0xff;
			out[5] = high & 0xff;
			out[6] = low >>> 24;
			out[7] = (low >> 16) & 0xff;
			out[8] = (low >> 8) & 0xff;
			out[9] = low & 0xff;
			at = 10;
		}
		if (this.masking) {
			// A new, unpredictable key for every frame (5.3). 16 bits per draw:
			// XS's Math.random carries only 31 random bits.
			const a = (this.random() * 0x10000) & 0xffff,
				b = (this.random() * 0x10000) & 0xffff;
			const mask = this.maskBytes!;
			out[at] = mask[0] = mask[4] = a >> 8;
			out[at + 1] = mask[1] = mask[5] = a & 0xff;
			out[at + 2] = mask[2] = mask[6] = b >> 8;
			out[at + 3] = mask[3] = mask[7] = b & 0xff;
		}
	}
}

/**
 * Body of a Close frame (RFC 6455 5.5.1): empty when code is undefined,
 * else the 2-byte code then the reason as UTF-8, cut at a code point
 * boundary to fit 125 bytes (123 for the reason). Throws RangeError for a
 * code that may not be sent (see isValidCloseCode) or a reason without code.
 */
export function closePayload(code?: number, reason = ""): ArrayBuffer {
	if (code === undefined) {
		if (reason) throw new RangeError("a close reason needs a close code");
		return new ArrayBuffer(0);
	}
	if (!isValidCloseCode(code)) throw new RangeError(`close code ${code} cannot be sent`);
	const text = reason ? new Uint8Array(ArrayBuffer.fromString(reason)) : undefined;
	let length = text ? text.byteLength : 0;
	if (length > MAX_CONTROL_PAYLOAD - 2) {
		length = MAX_CONTROL_PAYLOAD - 2;
		while ((text![length] & 0xc0) === 0x80)
			// don't split a code point
			length--;
	}
	const out = new Uint8Array(2 + length);
	out[0] = code >> 8;
	out[1] = code & 0xff;
	if (text && length) out.set(text.subarray(0, length), 2);
	return out.buffer as ArrayBuffer;
}

function toBytes(data: Payload | undefined): Uint8Array | undefined {
	if (data === undefined) return undefined;
	if (typeof data === "string") return data ? new Uint8Array(ArrayBuffer.fromString(data)) : undefined;
	if (data instanceof ArrayBuffer) return new Uint8Array(data);
	return data;
}
