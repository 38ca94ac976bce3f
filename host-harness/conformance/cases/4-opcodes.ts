/*
 * 4 Opcodes (RFC 6455 5.2): 0x3-0x7 are reserved for further non-control
 * frames, 0xB-0xF for further control frames. "If an unknown opcode is
 * received, the receiving endpoint MUST _Fail the WebSocket Connection_"
 * (1002), wherever the frame comes: alone, after valid messages (which are
 * echoed), or inside a fragmented message. Nothing after it is answered.
 */
import { type Case, send, text } from "../case.js";
import { frame } from "../frames.js";
import { collect, cont, fails, PROTOCOL_ERROR, ping, textFrame } from "./common.js";

const RESERVED = [3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf];

export function opcodeCases(): Case[] {
	const { cases, add } = collect();
	RESERVED.forEach((opcode, i) => {
		const kind = opcode < 8 ? "non-control" : "control";
		const n = (i % 5) + 1;
		const hex = `0x${opcode.toString(16).toUpperCase()}`;
		add(`4.${opcode < 8 ? 1 : 2}.${n}`, `reserved ${kind} opcode ${hex}, empty`, [send(frame(opcode))], fails(PROTOCOL_ERROR));
		add(
			`4.${opcode < 8 ? 3 : 4}.${n}`,
			`text, reserved opcode ${hex} with payload, ping: echo only`,
			[send([textFrame("valid first"), frame(opcode, "reserved payload"), ping("unanswered")])],
			fails(PROTOCOL_ERROR, text("valid first")),
		);
		add(
			`4.${opcode < 8 ? 5 : 6}.${n}`,
			`reserved opcode ${hex} between the fragments of a text message`,
			[send([textFrame("frag", { fin: false }), frame(opcode, "x"), cont("ment")])],
			fails(PROTOCOL_ERROR),
		);
		add(
			`4.${opcode < 8 ? 7 : 8}.${n}`,
			`reserved opcode ${hex}, 200 B, written byte by byte`,
			[send(frame(opcode, Buffer.alloc(200, 0x61)), { chunk: 1 })],
			fails(PROTOCOL_ERROR),
		);
	});
	return cases;
}
