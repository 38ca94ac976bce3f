/*
 * Frames, byte by byte (RFC 6455 5.2), for the conformance client:
 *
 * - frame(): any client frame, valid or not: any opcode, FIN, RSV bits,
 *   length encoding (minimal, or forced 16/64-bit, or a declared length that
 *   lies about the payload), masked with a fresh random key (5.3: "MUST be
 *   unpredictable"), a chosen key, or unmasked.
 * - FrameReader: a streaming parser of the server's frames that holds them
 *   to the rules a server must follow: unmasked (5.1), RSV 0 (no extension
 *   is negotiated), known opcodes, control frames whole and <= 125 bytes
 *   (5.5), minimal length encoding and a clear 64-bit top bit (5.2).
 */
import { randomBytes } from "node:crypto";

export const Op = Object.freeze({ CONT: 0x0, TEXT: 0x1, BINARY: 0x2, CLOSE: 0x8, PING: 0x9, PONG: 0xa });

export type Bytes = Uint8Array | string;

export const bytes = (data: Bytes | undefined): Buffer =>
	data === undefined ? Buffer.alloc(0) : typeof data === "string" ? Buffer.from(data, "utf8") : Buffer.from(data.buffer, data.byteOffset, data.byteLength);

export interface FrameOptions {
	/** Final fragment (default true). */
	fin?: boolean;
	/** RSV bits as a number 0-7: 4 = RSV1, 2 = RSV2, 1 = RSV3. */
	rsv?: number;
	/** true (default): a random key; false: unmasked; 4 bytes: this key. */
	mask?: boolean | Uint8Array;
	/** Length encoding: "minimal" (default), or force the 16- or 64-bit form. */
	encoding?: "minimal" | 16 | 64;
	/** Declare this length instead of the payload's (64-bit form; lets a header lie). */
	declared?: bigint;
}

/** One client frame. */
export function frame(opcode: number, payload?: Bytes, options: FrameOptions = {}): Buffer {
	const data = bytes(payload);
	const length = options.declared ?? BigInt(data.length);
	const encoding = options.declared !== undefined ? 64 : (options.encoding ?? "minimal");
	const key = options.mask === false ? undefined : options.mask === true || options.mask === undefined ? randomBytes(4) : Buffer.from(options.mask);
	const header: number[] = [((options.fin ?? true) ? 0x80 : 0) | (((options.rsv ?? 0) & 7) << 4) | (opcode & 0xf)];
	const maskBit = key ? 0x80 : 0;
	if (encoding === "minimal" && length < 126n) header.push(maskBit | Number(length));
	else if ((encoding === "minimal" && length < 65536n) || encoding === 16) header.push(maskBit | 126, Number(length >> 8n) & 0xff, Number(length) & 0xff);
	else {
		header.push(maskBit | 127);
		for (let shift = 56n; shift >= 0n; shift -= 8n) header.push(Number((length >> shift) & 0xffn));
	}
	if (!key) return Buffer.concat([Buffer.from(header), data]);
	const masked = Buffer.allocUnsafe(data.length);
	for (let i = 0; i < data.length; i++) masked[i] = data[i] ^ key[i & 3];
	return Buffer.concat([Buffer.from(header), key, masked]);
}

/** A Close frame body: nothing, or a 2-byte code and a reason (5.5.1). */
export function closeBody(code?: number, reason: Bytes = ""): Buffer {
	if (code === undefined) return Buffer.alloc(0);
	const out = Buffer.alloc(2);
	out.writeUInt16BE(code & 0xffff);
	return Buffer.concat([out, bytes(reason)]);
}

/** A message as fragments: `opcode` then continuations, split at the given payload offsets. */
export function fragments(opcode: number, payload: Bytes, cuts: number[], options: FrameOptions = {}): Buffer[] {
	const data = bytes(payload);
	const bounds = [0, ...cuts, data.length];
	const out: Buffer[] = [];
	for (let i = 0; i + 1 < bounds.length; i++)
		out.push(frame(i === 0 ? opcode : Op.CONT, data.subarray(bounds[i], bounds[i + 1]), { ...options, fin: i + 2 === bounds.length }));
	return out;
}

/** Offsets cutting `length` bytes into pieces of `size` (the last may be shorter). */
export function every(size: number, length: number): number[] {
	const cuts: number[] = [];
	for (let at = size; at < length; at += size) cuts.push(at);
	return cuts;
}

/**
 * Where the client's own outgoing stream stands: between two frames, or
 * inside one (its header, or its payload). A frame is written whole before
 * anything else may go out: a control frame may come between the fragments
 * of a message (5.4), never inside a frame (5.2: the payload is exactly the
 * declared length). A case writes its frames in chops and across steps, so
 * a Pong that answers a Ping waits for the boundary.
 * A frame whose header lies about its length is followed to the declared
 * end, which may never come: nothing else is written then.
 */
export class OutgoingFrames {
	#header = Buffer.alloc(14);
	#have = 0;
	/** Payload bytes of the current frame still to be written. */
	#remaining = 0;

	/** Between two frames: a whole frame may be written now. */
	get between(): boolean {
		return this.#have === 0 && this.#remaining === 0;
	}

	/** Account for bytes written. */
	push(bytes: Uint8Array): void {
		let at = 0;
		while (at < bytes.length) {
			if (this.#remaining > 0) {
				const count = Math.min(this.#remaining, bytes.length - at);
				this.#remaining -= count;
				at += count;
				continue;
			}
			this.#header[this.#have++] = bytes[at++];
			if (this.#have < 2) continue;
			const b1 = this.#header[1],
				length7 = b1 & 0x7f;
			const size = 2 + (length7 === 126 ? 2 : length7 === 127 ? 8 : 0) + (b1 & 0x80 ? 4 : 0);
			if (this.#have < size) continue;
			this.#remaining = length7 === 126 ? this.#header.readUInt16BE(2) : length7 === 127 ? Number(this.#header.readBigUInt64BE(2)) : length7;
			this.#have = 0;
		}
	}
}

/* ------------------------------------------------------------ server frames */

export interface ServerFrame {
	fin: boolean;
	opcode: number;
	payload: Buffer;
}

/** A server frame broke a rule a server must follow. */
export class FrameViolation extends Error {}

/** Streaming parser of server frames; push() returns the frames completed, throws FrameViolation. */
export class FrameReader {
	#chunks: Buffer[] = [];
	#have = 0;
	#header: { fin: boolean; opcode: number; length: number; size: number } | undefined;

	constructor(readonly maxPayload = 256 << 20) {}

	push(chunk: Buffer): ServerFrame[] {
		this.#chunks.push(chunk);
		this.#have += chunk.length;
		const frames: ServerFrame[] = [];
		for (;;) {
			const header = (this.#header ??= this.#readHeader());
			if (!header || this.#have < header.size + header.length) return frames;
			this.#take(header.size);
			frames.push({ fin: header.fin, opcode: header.opcode, payload: this.#take(header.length) });
			this.#header = undefined;
		}
	}

	#readHeader(): { fin: boolean; opcode: number; length: number; size: number } | undefined {
		if (this.#have < 2) return undefined;
		const first = this.#peek(2);
		const b0 = first[0],
			b1 = first[1];
		const fin = (b0 & 0x80) !== 0,
			opcode = b0 & 0xf,
			length7 = b1 & 0x7f;
		if (b0 & 0x70) throw new FrameViolation(`server frame with RSV bits ${(b0 >> 4) & 7} (no extension negotiated)`);
		if (b1 & 0x80) throw new FrameViolation("masked server frame (5.1: a server MUST NOT mask)");
		if ((opcode > 2 && opcode < 8) || opcode > 0xa) throw new FrameViolation(`server frame with reserved opcode ${opcode}`);
		if (opcode & 8 && (!fin || length7 > 125)) throw new FrameViolation(`server control frame ${fin ? "over 125 bytes" : "fragmented"}`);
		const size = length7 === 126 ? 4 : length7 === 127 ? 10 : 2;
		if (this.#have < size) return undefined;
		const head = this.#peek(size);
		let length = length7;
		if (length7 === 126) {
			length = head.readUInt16BE(2);
			if (length < 126) throw new FrameViolation(`server frame length ${length} not minimally encoded`);
		} else if (length7 === 127) {
			const wide = head.readBigUInt64BE(2);
			if (wide >> 63n) throw new FrameViolation("server frame 64-bit length with the top bit set");
			if (wide < 65536n) throw new FrameViolation(`server frame length ${wide} not minimally encoded`);
			if (wide > BigInt(this.maxPayload)) throw new FrameViolation(`server frame of ${wide} bytes, over the client's ${this.maxPayload}`);
			length = Number(wide);
		}
		return { fin, opcode, length, size };
	}

	/** The first n buffered bytes, without consuming them. */
	#peek(n: number): Buffer {
		if (this.#chunks[0].length < n) this.#chunks = [Buffer.concat(this.#chunks)];
		return this.#chunks[0].subarray(0, n);
	}

	/** Consume n buffered bytes. */
	#take(n: number): Buffer {
		const parts: Buffer[] = [];
		let need = n;
		while (need > 0) {
			const head = this.#chunks[0];
			if (head.length <= need) {
				parts.push(head);
				this.#chunks.shift();
				need -= head.length;
			} else {
				parts.push(head.subarray(0, need));
				this.#chunks[0] = head.subarray(need);
				need = 0;
			}
		}
		this.#have -= n;
		return parts.length === 1 ? parts[0] : Buffer.concat(parts, n);
	}
}
