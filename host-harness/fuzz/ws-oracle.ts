/*
 * The reference oracle for WebSocket traffic: given the bytes a client
 * sends after a good handshake, what a streaming echo server must do
 * (RFC 6455 and the rules docs/api-websocket.md states for this server), worked out by parsing
 * the stream as a server would, independently of the device's code:
 *
 * - echo each valid message with its type and whole content (the server
 *   echoes streaming pieces as fragments; the judge compares reassembled
 *   messages, and a message cut short may have any prefix of its content
 *   echoed so far);
 * - answer Pings with Pongs (5.5.3: several pending Pings may get one Pong,
 *   for the latest), send a Ping after the text message "Ping" (docs/api-websocket.md);
 * - at the first violation, Close with its code: 1002 for protocol errors,
 *   1007 for invalid UTF-8 at its first bad byte (8.1), even in a frame that
 *   never completes, and after a Close, ignore everything;
 * - a large but legal declared length is no error: the server streams and
 *   waits for the bytes.
 *
 * Where a server may legitimately do either of two things, the oracle names
 * both, each as a decision (Flag) taken consistently for the whole case; it
 * returns one expectation per combination of the decisions the case meets.
 */

import { typeName } from "../conformance/messages.js";
import { Utf8Judge, validUtf8 } from "./utf8.js";

export const Op = { CONT: 0, TEXT: 1, BINARY: 2, CLOSE: 8, PING: 9, PONG: 10 } as const;

/**
 * Decisions left to the server. false is always the first option (the
 * documented one), true the other one, also legitimate:
 * - controlNonMinimal: a control frame whose length (<= 125) is written in
 *   the 16/64-bit form: 1002 (5.5 reads the 7-bit field) / processed (5.2
 *   binds only senders to the minimal form);
 * - hugeLength: a 64-bit length of 2^53 or more, top bit clear: 1009, too
 *   big to process / streamed like any other length;
 * - incompleteHeaderError: a header that never completes but already shows
 *   an error: nothing, the frame was never whole / 1002 as soon as the
 *   error shows;
 * - closeRegistered: Close codes 1012-1014 (IANA-registered after RFC
 *   6455): echoed / 1002;
 * - closeBothInvalid: a Close with a bad code and a non-UTF-8 reason:
 *   1002 / 1007.
 */
export type Flag = "controlNonMinimal" | "hugeLength" | "incompleteHeaderError" | "closeRegistered" | "closeBothInvalid";

export interface Message {
	type: number;
	data: Buffer;
}

export interface WsExpectation {
	/** Whole messages echoed, in order. */
	messages: Message[];
	/** Payloads of the client's Pings processed, in order: Pongs are an in-order subset ending with the last. */
	pings: Buffer[];
	/** Pings the server sends of its own ("Ping" messages). */
	serverPings: number;
	/** The message in progress when the input stopped or failed: its echo so far may be any prefix of this. */
	partial?: Message;
	/** The server's Close: its code, null for an empty Close, "none" for no Close (TCP closed after our FIN). */
	close: number | null | (number | null)[] | "none";
	/**
	 * What the client does once the server has answered: "close", send Close 1000 (the server answers
	 * 1000); "fin", half-close TCP (the input stops inside a frame, the server waits for more); "none",
	 * nothing (the server closes, or our Close was in the input).
	 */
	end: "close" | "fin" | "none";
	/** Why, in words: "1002 at byte 57: unmasked frame", "open". */
	why: string;
	/** Where a valid client Close starts in the input (nothing after it is read). */
	closeAt?: number;
}

const TWO_53 = 2n ** 53n;

/** Close codes a Close frame may carry (7.4.1, 7.4.2); 1012-1014 are a decision. */
function closeCodeKind(code: number): "valid" | "registered" | "invalid" {
	if ((code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1011) || (code >= 3000 && code <= 4999)) return "valid";
	if (code >= 1012 && code <= 1014) return "registered";
	return "invalid";
}

function unmask(data: Buffer, key: Buffer | undefined): Buffer {
	if (!key) return Buffer.from(data);
	const out = Buffer.allocUnsafe(data.length);
	for (let i = 0; i < data.length; i++) out[i] = data[i] ^ key[i & 3];
	return out;
}

/** One reading of the stream, with the server's decisions given by `decide`. */
function simulate(stream: Buffer, decide: (flag: Flag) => boolean): WsExpectation {
	const messages: Message[] = [];
	const pings: Buffer[] = [];
	let serverPings = 0;
	let message: { type: number; pieces: Buffer[]; utf8: Utf8Judge } | undefined;
	let pos = 0;

	const partial = (): Message | undefined => message && { type: message.type, data: Buffer.concat(message.pieces) };
	const result = (close: WsExpectation["close"], end: WsExpectation["end"], why: string, closeAt?: number): WsExpectation => ({
		messages,
		pings,
		serverPings,
		partial: partial(),
		close,
		end,
		why,
		closeAt,
	});
	const fail = (code: number, at: number, why: string) => result(code, "none", `${code} at byte ${at}: ${why}`);
	const waiting = (why: string) => result("none", "fin", why);

	for (;;) {
		const start = pos;
		const left = stream.length - pos;
		if (left === 0) return result(1000, "close", message ? "open inside a fragmented message; our close 1000 answered" : "open; our close 1000 answered");
		const b0 = stream[pos];
		const fin = (b0 & 0x80) !== 0,
			rsv = (b0 >> 4) & 7,
			opcode = b0 & 0xf;
		const control = opcode >= 8;
		// What the first byte already shows.
		const errors: string[] = [];
		if (rsv) errors.push(`reserved bits ${rsv}`);
		if ((opcode >= 3 && opcode <= 7) || opcode >= 0xb) errors.push(`reserved opcode ${opcode}`);
		if (control && opcode <= 0xa && !fin) errors.push("fragmented control frame");
		if (opcode === Op.CONT && !message) errors.push("continuation without a message");
		if ((opcode === Op.TEXT || opcode === Op.BINARY) && message) errors.push("new message inside a fragmented one");
		if (left < 2)
			return errors.length && decide("incompleteHeaderError")
				? fail(1002, start, `${errors[0]} (header incomplete)`)
				: waiting("input ends inside a frame header");
		const b1 = stream[pos + 1];
		const masked = (b1 & 0x80) !== 0,
			length7 = b1 & 0x7f;
		const extra = length7 === 126 ? 2 : length7 === 127 ? 8 : 0;
		const headerSize = 2 + extra + (masked ? 4 : 0);
		if (!masked) errors.push("unmasked frame from a client");
		// A control frame's length: over 125, or a non-minimal form of <= 125 (a decision), or not known yet.
		let nonMinimalControl = false;
		if (control && length7 > 125) {
			if (left < 2 + extra) errors.push("control frame length in the 16/64-bit form");
			else {
				const value = extra === 2 ? BigInt(stream.readUInt16BE(pos + 2)) : stream.readBigUInt64BE(pos + 2);
				if (value > 125n) errors.push(`control frame of ${value} bytes (over 125)`);
				else nonMinimalControl = true;
			}
		}
		if (length7 === 127 && left >= 3 && stream[pos + 2] & 0x80) errors.push("64-bit length with the top bit set");
		if (left < headerSize) {
			if ((errors.length || nonMinimalControl) && decide("incompleteHeaderError"))
				return fail(1002, start, `${errors[0] ?? "non-minimal control frame length"} (header incomplete)`);
			return waiting("input ends inside a frame header");
		}
		// The header is whole: its errors are certain.
		const first = errors.find(e => e !== "continuation without a message" && e !== "new message inside a fragmented one");
		if (first) return fail(1002, start, first);
		const length = length7 === 126 ? BigInt(stream.readUInt16BE(pos + 2)) : length7 === 127 ? stream.readBigUInt64BE(pos + 2) : BigInt(length7);
		if (nonMinimalControl && !decide("controlNonMinimal")) return fail(1002, start, `control frame length ${length} in the ${extra === 2 ? 16 : 64}-bit form`);
		let endless = false;
		if (length >= TWO_53) {
			if (!decide("hugeLength")) return fail(1009, start, `declared length ${length} (2^53 or more)`);
			endless = true;
		}
		if (errors.length)
			// continuation rules, judged once the header is whole
			return fail(1002, start, errors[0]);
		const key = masked ? stream.subarray(pos + 2 + extra, pos + headerSize) : undefined;
		pos += headerSize;
		const available = endless ? stream.length - pos : Number(length > BigInt(stream.length - pos) ? BigInt(stream.length - pos) : length);
		const payload = unmask(stream.subarray(pos, pos + available), key);
		const whole = !endless && BigInt(available) === length;

		if (control) {
			if (!whole) return waiting(`input ends inside a ${opcode === Op.PING ? "ping" : opcode === Op.PONG ? "pong" : "close"} frame`);
			pos += available;
			if (opcode === Op.PING) pings.push(payload);
			else if (opcode === Op.CLOSE) {
				if (payload.length === 0) return result([1000, null], "none", "our empty close answered (1000 or empty)", start);
				if (payload.length === 1) return fail(1002, start, "close payload of 1 byte");
				const code = payload.readUInt16BE(0);
				const kind = closeCodeKind(code);
				const codeBad = kind === "invalid" || (kind === "registered" && decide("closeRegistered"));
				const reasonBad = !validUtf8(payload.subarray(2));
				if (codeBad && reasonBad)
					return decide("closeBothInvalid")
						? fail(1007, start, `close ${code} with a reason that is not UTF-8`)
						: fail(1002, start, `invalid close code ${code} (reason not UTF-8 either)`);
				if (codeBad) return fail(1002, start, `invalid close code ${code}`);
				if (reasonBad) return fail(1007, start, "close reason is not UTF-8");
				return result(code, "none", `our close ${code} answered`, start);
			}
			continue;
		}

		if (opcode !== Op.CONT) message = { type: opcode, pieces: [], utf8: new Utf8Judge() };
		const current = message!;
		if (current.type === Op.TEXT) {
			const bad = current.utf8.feed(payload);
			if (bad >= 0) {
				current.pieces.push(payload.subarray(0, bad));
				return fail(1007, pos + bad, "invalid UTF-8 in a text message");
			}
		}
		current.pieces.push(payload);
		pos += available;
		if (!whole)
			return waiting(endless ? `declared length ${length}: the server streams and waits` : `input ends inside a data frame (${available} of ${length} bytes)`);
		if (!fin) continue;
		if (current.type === Op.TEXT && !current.utf8.complete) return fail(1007, pos, "text message ends inside a UTF-8 sequence");
		const data = Buffer.concat(current.pieces);
		messages.push({ type: current.type, data });
		if (current.type === Op.TEXT && data.toString("latin1") === "Ping") serverPings++;
		if (current.type === Op.TEXT && data.toString("latin1") === "Trigger async")
			throw new Error('the oracle does not model "Trigger async" (its reply comes from a timer): generators must not send it');
		message = undefined;
	}
}

/** Every expectation the stream allows: one per combination of the decisions it meets. */
export function expectWs(stream: Buffer): WsExpectation[] {
	const out: WsExpectation[] = [];
	const keys = new Set<string>();
	const explore = (fixed: Map<Flag, boolean>) => {
		const assigned = new Map(fixed);
		const fresh: Flag[] = [];
		const expectation = simulate(stream, flag => {
			if (!assigned.has(flag)) {
				assigned.set(flag, false);
				fresh.push(flag);
			}
			return assigned.get(flag)!;
		});
		const key = expectationKey(expectation);
		if (!keys.has(key)) {
			keys.add(key);
			out.push(expectation);
		}
		fresh.forEach((flag, i) => {
			const next = new Map(fixed);
			for (const earlier of fresh.slice(0, i)) next.set(earlier, false);
			next.set(flag, true);
			explore(next);
		});
	};
	explore(new Map());
	return out;
}

function expectationKey(e: WsExpectation): string {
	return JSON.stringify([
		e.messages.map(m => [m.type, m.data.toString("hex")]),
		e.pings.map(p => p.toString("hex")),
		e.serverPings,
		e.partial && [e.partial.type, e.partial.data.toString("hex")],
		e.close,
		e.end,
	]);
}

/** One line for an expectation: "2 echoes, 1 pong, close 1002 (1002 at byte 57: unmasked frame)". */
export function describeExpectation(e: WsExpectation): string {
	const parts: string[] = [];
	if (e.messages.length)
		parts.push(e.messages.length === 1 ? `echo ${typeName(e.messages[0].type)} ${e.messages[0].data.length} B` : `${e.messages.length} echoes`);
	if (e.pings.length) parts.push(`pong for ping #${e.pings.length}`);
	if (e.serverPings) parts.push(`${e.serverPings} server ping${e.serverPings > 1 ? "s" : ""}`);
	if (e.partial) parts.push(`partial ${typeName(e.partial.type)} <= ${e.partial.data.length} B`);
	const codes = (c: number | null) => (c === null ? "empty" : String(c));
	parts.push(e.close === "none" ? "no close, TCP closed after our FIN" : `close ${Array.isArray(e.close) ? e.close.map(codes).join("|") : codes(e.close)}`);
	return `${parts.join(", ")} (${e.why})`;
}

export { typeName };
