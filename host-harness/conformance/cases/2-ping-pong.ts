/*
 * 2 Pings and Pongs (RFC 6455 5.5.2, 5.5.3): a Ping gets a Pong with the
 * same payload; an unsolicited Pong gets no answer; control frames carry at
 * most 125 bytes (5.5), or the connection fails with 1002.
 */
import { ascii, type Case, pattern, send, text } from "../case.js";
import { collect, fails, PROTOCOL_ERROR, ping, pong, textFrame } from "./common.js";

export function pingPongCases(): Case[] {
	const { cases, add } = collect();
	const payload = (s: string | Buffer) => (typeof s === "string" ? Buffer.from(s) : s);
	const pongOf = (...payloads: (string | Buffer)[]) => ({ pongs: payloads.map(payload) });

	add("2.1", "ping without payload", [send(ping())], pongOf(""));
	add("2.2", "ping with a text payload", [send(ping("Hello, world!"))], pongOf("Hello, world!"));
	const binaryPayload = Buffer.from([0x00, 0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0x00, 0xff]);
	add("2.3", "ping with a binary payload", [send(ping(binaryPayload))], pongOf(binaryPayload));
	add("2.4", "ping with a 125 B payload (the maximum, 5.5)", [send(ping(pattern(125)))], pongOf(pattern(125)));
	add("2.5", "ping with a 126 B payload: over the control frame limit", [send(ping(pattern(126)))], fails(PROTOCOL_ERROR));
	add("2.6", "ping with 125 B, one byte per write", [send(ping(ascii(125)), { chunk: 1 })], pongOf(ascii(125)));
	// 5.5.3: "A response to an unsolicited Pong frame is not expected."
	add("2.7", "unsolicited pong without payload, then text: only the echo", [send([pong(), textFrame("after pong")])], { messages: [text("after pong")] });
	add("2.8", "unsolicited pong with payload", [send(pong("unsolicited pong payload"))], {});
	add("2.9", "unsolicited pong, then ping: one pong, for the ping", [send([pong("unsolicited"), ping("solicited")])], pongOf("solicited"));
	// 5.5.3: an endpoint MAY answer only the most recent of several Pings.
	const pings = Array.from({ length: 10 }, (_, i) => `payload-${i}`);
	add("2.10", "10 pings in one write", [send(pings.map(p => ping(p)))], { pongs: pings.map(payload), coalesce: true });
	add(
		"2.11",
		"10 pings, 5 ms apart",
		pings.flatMap(p => [send(ping(p)), { sleep: 5 }]),
		{ pongs: pings.map(payload), coalesce: true },
	);
	add(
		"2.12",
		"ping payload that is not UTF-8 (control payloads are binary)",
		[send(ping(Buffer.from([0xff, 0xfe, 0xc0, 0x80])))],
		pongOf(Buffer.from([0xff, 0xfe, 0xc0, 0x80])),
	);
	add(
		"2.13",
		"ping with byte values 0-124",
		[send(ping(Buffer.from(Array.from({ length: 125 }, (_, i) => i))))],
		pongOf(Buffer.from(Array.from({ length: 125 }, (_, i) => i))),
	);
	add("2.14", "ping masked with the all-zero key", [send(ping("zero key", { mask: new Uint8Array(4) }))], pongOf("zero key"));
	// 5.2 asks senders for minimal lengths and 5.5 caps control lengths at 125: accepting or failing are both sound.
	add("2.15", "ping of 5 B with its length in the 16-bit form", [send(ping("short", { encoding: 16 }))], [pongOf("short"), fails(PROTOCOL_ERROR)]);
	const split = ping(pattern(100));
	add("2.16", "ping of 100 B, split inside the header", [send(split.subarray(0, 3)), { sleep: 5 }, send(split.subarray(3))], pongOf(pattern(100)));
	add("2.17", "ping, text, ping, binary in one write", [send([ping("a"), textFrame("t1"), ping("b"), textFrame("t2")])], {
		messages: [text("t1"), text("t2")],
		pongs: [payload("a"), payload("b")],
		coalesce: true,
	});
	add("2.18", "unsolicited pong with a 126 B payload", [send(pong(pattern(126)))], fails(PROTOCOL_ERROR));
	return cases;
}
