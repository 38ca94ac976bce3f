/*
 * 3 Reserved Bits (RFC 6455 5.2): "RSV1, RSV2, RSV3: MUST be 0 unless an
 * extension is negotiated that defines meanings for non-zero values. If a
 * nonzero value is received and none of the negotiated extensions defines
 * the meaning of such a nonzero value, the receiving endpoint MUST _Fail
 * the WebSocket Connection_." No extension is negotiated here: every
 * combination, on every frame type, fails with 1002.
 */
import { type Case, send, text } from "../case.js";
import { closeBody, frame, Op } from "../frames.js";
import { collect, fails, PROTOCOL_ERROR, ping, textFrame } from "./common.js";

const bitsName = (rsv: number) => ["RSV1", "RSV2", "RSV3"].filter((_, i) => rsv & (4 >> i)).join("+");

export function reservedBitsCases(): Case[] {
	const { cases, add } = collect();
	const kinds: [string, string, (rsv: number) => Buffer[]][] = [
		["3.1", "text", rsv => [frame(Op.TEXT, "reserved bits", { rsv })]],
		["3.2", "binary", rsv => [frame(Op.BINARY, Buffer.from([1, 2, 3]), { rsv })]],
		["3.3", "continuation", rsv => [frame(Op.TEXT, "start ", { fin: false }), frame(Op.CONT, "end", { rsv })]],
		["3.4", "ping", rsv => [frame(Op.PING, "no pong", { rsv })]],
		["3.5", "pong", rsv => [frame(Op.PONG, "unsolicited", { rsv })]],
		["3.6", "close", rsv => [frame(Op.CLOSE, closeBody(1000), { rsv })]],
	];
	for (const [group, kind, build] of kinds)
		for (let rsv = 1; rsv <= 7; rsv++) add(`${group}.${rsv}`, `${kind} frame with ${bitsName(rsv)} set`, [send(build(rsv))], fails(PROTOCOL_ERROR));

	// Autobahn 3.3-style: a valid message is echoed; the bad frame fails the connection; the ping after it is not answered.
	const sequence = [textFrame("Hello"), frame(Op.TEXT, "Hello", { rsv: 2 }), ping("after")];
	add("3.7.1", "text, text with RSV2, ping: in one write", [send(sequence)], fails(PROTOCOL_ERROR, text("Hello")));
	add(
		"3.7.2",
		"text, text with RSV2, ping: frame by frame, 5 ms apart",
		sequence.flatMap(f => [send(f), { sleep: 5 }]),
		fails(PROTOCOL_ERROR, text("Hello")),
	);
	add("3.7.3", "text, text with RSV2, ping: byte by byte", [send(sequence, { chunk: 1 })], fails(PROTOCOL_ERROR, text("Hello")));
	return cases;
}
