/*
 * 1 Framing (RFC 6455 5.2, 5.3): payload lengths across the 7/16/64-bit
 * length forms, length encodings, masking, frames split anywhere in TCP
 * and several frames per TCP write.
 */
import { ascii, binary, type Case, pattern, type SuiteOptions, send, text } from "../case.js";
import { frame, Op } from "../frames.js";
import { binaryFrame, collect, echoes, fails, PROTOCOL_ERROR, ping, pong, textFrame } from "./common.js";

const LENGTHS = [0, 125, 126, 127, 128, 65535, 65536];

export function framingCases(options: SuiteOptions): Case[] {
	const { cases, add } = collect();

	// 1.1/1.2: each length form at and around its boundaries (5.2: 7-bit up to 125, 16-bit up to 65535, then 64-bit).
	for (const [group, opcode, data] of [
		["1.1", Op.TEXT, ascii],
		["1.2", Op.BINARY, pattern],
	] as const) {
		const kind = opcode === Op.TEXT ? "text" : "binary";
		LENGTHS.forEach((length, i) => {
			const payload = data(length);
			add(`${group}.${i + 1}`, `${kind} message, payload ${length} B`, [send(frame(opcode, payload))], echoes(options, opcode, payload));
		});
		const payload = data(65536);
		add(
			`${group}.8`,
			`${kind} message, payload 65536 B, written in chops of 997 B`,
			[send(frame(opcode, payload), { chunk: 997 })],
			echoes(options, opcode, payload),
		);
	}

	// 1.3: non-minimal length encodings. 5.2 binds the sender ("the minimal number of bytes MUST be
	// used"); the receiver may accept them or fail with 1002.
	const nonMinimal: [string, number, number, 16 | 64][] = [
		["text", Op.TEXT, 0, 16],
		["text", Op.TEXT, 5, 16],
		["text", Op.TEXT, 125, 16],
		["text", Op.TEXT, 5, 64],
		["binary", Op.BINARY, 126, 64],
		["binary", Op.BINARY, 65535, 64],
	];
	nonMinimal.forEach(([kind, opcode, length, bits], i) => {
		const payload = opcode === Op.TEXT ? ascii(length) : pattern(length);
		add(
			`1.3.${i + 1}`,
			`${kind} ${length} B with its length in the ${bits}-bit form (not minimal)`,
			[send(frame(opcode, payload, { encoding: bits }))],
			[echoes(options, opcode, payload), fails(PROTOCOL_ERROR)],
		);
	});

	// 1.4: masking (5.3: any key, even all zeros; 5.1: a server MUST fail on an unmasked client frame).
	const hello = Buffer.from("Hello, masking");
	add("1.4.1", "text masked with the all-zero key", [send(textFrame(hello, { mask: new Uint8Array(4) }))], { messages: [text(hello)] });
	add("1.4.2", "binary masked with key ff ff ff ff", [send(binaryFrame(pattern(300), { mask: Uint8Array.of(255, 255, 255, 255) }))], {
		messages: [binary(pattern(300))],
	});
	add("1.4.3", "unmasked text frame", [send(textFrame(hello, { mask: false }))], fails(PROTOCOL_ERROR));
	add("1.4.4", "unmasked binary frame", [send(binaryFrame(pattern(20), { mask: false }))], fails(PROTOCOL_ERROR));
	add("1.4.5", "unmasked empty text frame", [send(textFrame("", { mask: false }))], fails(PROTOCOL_ERROR));
	add("1.4.6", "unmasked ping: no pong", [send(ping("unmasked", { mask: false }))], fails(PROTOCOL_ERROR));
	add("1.4.7", "unmasked close", [send(frame(Op.CLOSE, Buffer.from([3, 232]), { mask: false }))], fails(PROTOCOL_ERROR));
	add("1.4.8", "valid text, then an unmasked one", [send([textFrame("first"), textFrame("second", { mask: false })])], fails(PROTOCOL_ERROR, text("first")));

	// 1.5: a frame may arrive split at any byte (TCP is a stream).
	const small = ascii(200); // header: 2 + 2 (16-bit length) + 4 (key) bytes
	for (let cut = 1; cut <= 7; cut++) {
		const bytes = textFrame(small);
		add(`1.5.${cut}`, `text 200 B, split after header byte ${cut}`, [send(bytes.subarray(0, cut)), { sleep: 5 }, send(bytes.subarray(cut))], {
			messages: [text(small)],
		});
	}
	const large = pattern(65536); // header: 2 + 8 (64-bit length) + 4 (key) bytes
	[1, 2, 3, 6, 9, 10, 13].forEach((cut, i) => {
		const bytes = binaryFrame(large);
		add(
			`1.5.${8 + i}`,
			`binary 65536 B, split after header byte ${cut}`,
			[send(bytes.subarray(0, cut)), { sleep: 5 }, send(bytes.subarray(cut))],
			echoes(options, Op.BINARY, large),
		);
	});
	add("1.5.15", "text 20 B, one byte per write, 1 ms apart", [send(textFrame(ascii(20)), { chunk: 1, delayMs: 1 })], { messages: [text(ascii(20))] });
	add("1.5.16", "binary 1000 B in writes of 3 B", [send(binaryFrame(pattern(1000)), { chunk: 3 })], { messages: [binary(pattern(1000))] });

	// 1.6: many frames per write; the server parses them all, in order.
	const ten = Array.from({ length: 10 }, (_, i) => ascii(10 + i, i));
	add("1.6.1", "10 text messages in one write", [send(ten.map(m => textFrame(m)))], { messages: ten.map(m => text(m)) });
	const hundred = Array.from({ length: 100 }, (_, i) => pattern(1 + (i % 64), i));
	add("1.6.2", "100 binary messages of 1-64 B in one write", [send(hundred.map(m => binaryFrame(m)))], { messages: hundred.map(m => binary(m)) });
	add(
		"1.6.3",
		"text, ping, binary, unsolicited pong, text in one write",
		[send([textFrame("one"), ping("p"), binaryFrame(pattern(3)), pong("u"), textFrame("two")])],
		{ messages: [text("one"), binary(pattern(3)), text("two")], pongs: [Buffer.from("p")] },
	);
	const first = textFrame("first whole"),
		second = binaryFrame(pattern(500));
	add(
		"1.6.4",
		"a frame and half of the next in one write, the rest 10 ms later",
		[send([first, second.subarray(0, 250)]), { sleep: 10 }, send(second.subarray(250))],
		{ messages: [text("first whole"), binary(pattern(500))] },
	);
	add(
		"1.6.5",
		"5 frames written in 7-byte chops across frame boundaries",
		[
			send(
				ten.slice(0, 5).map(m => textFrame(m)),
				{ chunk: 7 },
			),
		],
		{ messages: ten.slice(0, 5).map(m => text(m)) },
	);

	// 1.7: "the most significant bit MUST be 0" in the 64-bit length (5.2).
	add("1.7.1", "text whose 64-bit length has the top bit set (header only)", [send(textFrame(undefined, { declared: 1n << 63n }))], fails(PROTOCOL_ERROR));
	add("1.7.2", "binary whose 64-bit length is 2^63 + 5, then 5 bytes", [send(binaryFrame(pattern(5), { declared: (1n << 63n) + 5n }))], fails(PROTOCOL_ERROR));
	return cases;
}
