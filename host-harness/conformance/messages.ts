/*
 * The server's frames as events: whole messages (reassembled from any
 * fragmentation the server chose, 5.4), pings, pongs and its Close, each
 * checked against the rules a server must follow: fragments in order (5.4),
 * text valid UTF-8 (8.1), Close payloads of 0 or >= 2 bytes with a code a
 * server may send and a UTF-8 reason (5.5.1, 7.4), nothing after a Close (5.5.1).
 */
import { FrameViolation, Op, type ServerFrame } from "./frames.js";

export type ServerEvent =
	| { kind: "message"; type: number; data: Buffer }
	| { kind: "ping"; payload: Buffer }
	| { kind: "pong"; payload: Buffer }
	| { kind: "close"; code: number | undefined; reason: Buffer };

const utf8 = new TextDecoder("utf-8", { fatal: true });

export function isUtf8(data: Uint8Array): boolean {
	try {
		utf8.decode(data);
		return true;
	} catch {
		return false;
	}
}

/** Close codes an endpoint may put on the wire (7.4.1, 7.4.2, and the IANA-registered 1012-1014). */
export function isSendableCloseCode(code: number): boolean {
	return (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) || (code >= 3000 && code <= 4999);
}

export class MessageAssembler {
	/** The server's fragmented message in progress, if any. */
	partial: { type: number; pieces: Buffer[]; length: number } | undefined;
	#closed = false;

	/** The event a frame completes, if any; throws FrameViolation. */
	accept(frame: ServerFrame): ServerEvent | undefined {
		if (this.#closed) throw new FrameViolation(`server frame (opcode ${frame.opcode}) after its Close`);
		const { opcode, payload } = frame;
		if (opcode === Op.PING || opcode === Op.PONG) return { kind: opcode === Op.PING ? "ping" : "pong", payload };
		if (opcode === Op.CLOSE) return this.#close(payload);
		if (opcode === Op.CONT) {
			if (!this.partial) throw new FrameViolation("server continuation frame without a message in progress");
		} else {
			if (this.partial) throw new FrameViolation("server started a message inside its fragmented message");
			this.partial = { type: opcode, pieces: [], length: 0 };
		}
		const partial = this.partial;
		partial.pieces.push(payload);
		partial.length += payload.length;
		if (!frame.fin) return undefined;
		this.partial = undefined;
		const data = partial.pieces.length === 1 ? partial.pieces[0] : Buffer.concat(partial.pieces, partial.length);
		if (partial.type === Op.TEXT && !isUtf8(data)) throw new FrameViolation("server text message is not valid UTF-8");
		return { kind: "message", type: partial.type, data };
	}

	#close(payload: Buffer): ServerEvent {
		this.#closed = true;
		if (payload.length === 0) return { kind: "close", code: undefined, reason: payload };
		if (payload.length === 1) throw new FrameViolation("server Close with a 1-byte payload");
		const code = payload.readUInt16BE(0);
		if (!isSendableCloseCode(code)) throw new FrameViolation(`server Close with code ${code}, which may not be sent`);
		const reason = payload.subarray(2);
		if (!isUtf8(reason)) throw new FrameViolation("server Close reason is not UTF-8");
		return { kind: "close", code, reason };
	}
}

/** A message as the echo suites compare them: its opcode and payload. */
export interface EchoedMessage {
	type: number;
	data: Buffer;
}

export const typeName = (type: number) => (type === Op.TEXT ? "text" : type === Op.BINARY ? "binary" : `opcode ${type}`);
const describeMessage = (m: EchoedMessage) => `${typeName(m.type)} ${m.data.length} B`;

/** The first way the echoes differ from the messages sent, in words; undefined when they match. */
export function compareMessages(wanted: EchoedMessage[], got: EchoedMessage[]): string | undefined {
	for (let i = 0; i < Math.max(wanted.length, got.length); i++) {
		const w = wanted[i],
			g = got[i];
		if (!w) return `unexpected message #${i + 1}: ${describeMessage(g)}${got.length - i > 1 ? ` (+${got.length - i - 1} more)` : ""}`;
		if (!g) return `missing echo #${i + 1} (${describeMessage(w)}), got ${got.length} of ${wanted.length}`;
		if (w.type !== g.type || w.data.length !== g.data.length) return `echo #${i + 1} is ${describeMessage(g)}, expected ${describeMessage(w)}`;
		if (!w.data.equals(g.data)) {
			let at = 0;
			while (w.data[at] === g.data[at]) at++;
			return `echo #${i + 1} differs at byte ${at}`;
		}
	}
	return undefined;
}
