/*
 * A case's wire log, for the report: what the client wrote (each frame's
 * header decoded: FIN, opcode, RSV bits, mask, length; bytes that do not
 * form a frame are shown as bytes), what the server sent (its HTTP status,
 * each frame, its Close code), when TCP closed — each with the milliseconds
 * since the connection opened. Bounded: a round-trip case writes hundreds
 * of frames, the log keeps the first entries and counts the rest.
 */

import { AsyncLocalStorage } from "node:async_hooks";

/** The wire logs of the connections a case opens: the runner sets the store around a case, each RawConnection adds its log. */
export const caseWireLogs = new AsyncLocalStorage<WireLog[]>();

export interface WireEntry {
	/** Milliseconds since the connection opened. */
	ms: number;
	/** "→" the client sent, "←" the server sent, "·" an event (TCP closed, timeout). */
	dir: "→" | "←" | "·";
	text: string;
}

const opcodeNames: Record<number, string> = { 0: "CONT", 1: "TEXT", 2: "BINARY", 8: "CLOSE", 9: "PING", 10: "PONG" };
export const opcodeName = (opcode: number): string => opcodeNames[opcode] ?? `0x${opcode.toString(16).toUpperCase()}`;

const MAX_ENTRIES = 60;

export class WireLog {
	readonly entries: WireEntry[] = [];
	/** Entries past the bound, counted. */
	dropped = 0;
	readonly #t0 = Date.now();

	add(dir: WireEntry["dir"], text: string): void {
		if (this.entries.length >= MAX_ENTRIES) {
			this.dropped++;
			return;
		}
		this.entries.push({ ms: Date.now() - this.#t0, dir, text });
	}

	/** The client's bytes: frames decoded from their headers (masked, as a client sends them), else a byte count. */
	sent(data: Uint8Array, chunking?: { chunk?: number; delayMs?: number }): void {
		const how =
			chunking?.chunk && chunking.chunk < data.length
				? ` (written in ${chunking.chunk} B pieces${chunking.delayMs ? `, ${chunking.delayMs} ms apart` : ""})`
				: "";
		if (data.length > 4 && data[0] === 0x47 && data[1] === 0x45 && data[2] === 0x54 && data[3] === 0x20) {
			// "GET "
			const line = Buffer.from(data.subarray(0, Math.min(data.length, 200)))
				.toString("latin1")
				.split("\r\n")[0];
			this.add("→", `${line} (upgrade request, ${data.length} B)`);
			return;
		}
		let at = 0;
		let frames = 0;
		while (at < data.length) {
			const header = describeFrame(data, at);
			if (!header) {
				this.add("→", `${data.length - at} B that do not form a whole frame${how}`);
				return;
			}
			if (frames++ < 20 || at + header.size >= data.length) this.add("→", `${header.text}${how}`);
			else this.dropped++;
			at += header.size;
		}
	}

	received(frame: { fin: boolean; opcode: number; payload: Buffer }): void {
		let text = `${opcodeName(frame.opcode)}${frame.fin ? "" : " (FIN 0)"} ${frame.payload.length} B`;
		if (frame.opcode === 0x8 && frame.payload.length >= 2)
			text += ` code ${frame.payload.readUInt16BE(0)}${frame.payload.length > 2 ? ` reason "${frame.payload.subarray(2, 40).toString("utf8")}"` : ""}`;
		else if ((frame.opcode === 0x1 || frame.opcode === 0x9 || frame.opcode === 0xa) && frame.payload.length && frame.payload.length <= 32)
			text += ` "${frame.payload.toString("latin1").replace(/[^\x20-\x7e]/g, ".")}"`;
		this.add("←", text);
	}
}

/** One client frame's header at `at`, as text, and its whole size; undefined when the bytes there are not a whole frame. */
export function describeFrame(data: Uint8Array, at: number): { text: string; size: number } | undefined {
	if (data.length - at < 2) return undefined;
	const b0 = data[at],
		b1 = data[at + 1];
	let length = b1 & 0x7f;
	let offset = at + 2;
	if (length === 126) {
		if (data.length - offset < 2) return undefined;
		length = (data[offset] << 8) | data[offset + 1];
		offset += 2;
	} else if (length === 127) {
		if (data.length - offset < 8) return undefined;
		const high = ((data[offset] << 24) >>> 0) * 2 ** 32 + ((data[offset + 1] << 16) | (data[offset + 2] << 8) | data[offset + 3]) * 256;
		length = high + ((data[offset + 4] << 24) >>> 0) + ((data[offset + 5] << 16) | (data[offset + 6] << 8) | data[offset + 7]);
		offset += 8;
	}
	const masked = (b1 & 0x80) !== 0;
	const size = offset - at + (masked ? 4 : 0) + length;
	if (size > data.length - at) return { text: `${opcodeName(b0 & 0x0f)} header, length ${length} B, ${data.length - at} B written`, size: data.length - at };
	const rsv = [b0 & 0x40 && "RSV1", b0 & 0x20 && "RSV2", b0 & 0x10 && "RSV3"].filter(Boolean).join("+");
	let text = `${opcodeName(b0 & 0x0f)}${b0 & 0x80 ? "" : " (FIN 0)"}${rsv ? ` ${rsv}` : ""}${masked ? "" : " unmasked"} ${length} B`;
	if ((b0 & 0x0f) === 0x8 && masked && length >= 2) {
		const m = offset;
		const code = ((data[m + 4] ^ data[m]) << 8) | (data[m + 5] ^ data[m + 1]);
		text += ` code ${code}`;
	}
	return { text, size };
}
