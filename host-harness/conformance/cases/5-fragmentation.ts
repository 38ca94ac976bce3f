/*
 * 5 Fragmentation (RFC 6455 5.4): a message is a first frame (text/binary,
 * FIN 0) then continuation frames, the last with FIN 1. Control frames MUST
 * NOT be fragmented but MAY be injected between fragments; a continuation
 * without a message in progress, or a new data frame inside one, fails the
 * connection with 1002. Fragment boundaries carry no meaning: the echo is
 * the whole message.
 */
import { ascii, binary, type Case, pattern, type Step, send, sendClose, text } from "../case.js";
import { every, fragments, frame, Op } from "../frames.js";
import { binaryFrame, collect, cont, fails, PROTOCOL_ERROR, ping, pong, textFrame } from "./common.js";

/** The same frames three ways, as Autobahn does: in one write, frame by frame 5 ms apart, byte by byte. */
const ways = (frames: Buffer[]): [string, Step[]][] => [
	["in one write", [send(frames)]],
	["frame by frame", frames.flatMap(f => [send(f), { sleep: 5 } as Step])],
	["byte by byte", [send(frames, { chunk: 1 })]],
];

export function fragmentationCases(): Case[] {
	const { cases, add } = collect();
	add("5.1", "ping in 2 fragments", [send([frame(Op.PING, "frag", { fin: false }), cont("ment")])], fails(PROTOCOL_ERROR));
	add("5.2", "pong in 2 fragments", [send([frame(Op.PONG, "frag", { fin: false }), cont("ment")])], fails(PROTOCOL_ERROR));

	let n = 3;
	for (const [how, steps] of ways(fragments(Op.TEXT, "fragment1fragment2", [9])))
		add(`5.${n++}`, `text in 2 fragments, ${how}`, steps, { messages: [text("fragment1fragment2")] });
	const withPing = [textFrame("fragment1", { fin: false }), ping("pongme!"), cont("fragment2")];
	for (const [how, steps] of ways(withPing))
		add(`5.${n++}`, `text in 2 fragments with a ping between, ${how}`, steps, { messages: [text("fragment1fragment2")], pongs: [Buffer.from("pongme!")] });
	const orphanFin = [cont("non-continuation payload"), textFrame("Hello, world!")];
	for (const [how, steps] of ways(orphanFin))
		add(`5.${n++}`, `continuation (FIN 1) with no message in progress, then text, ${how}`, steps, fails(PROTOCOL_ERROR));
	const orphan = [cont("non-continuation payload", { fin: false }), textFrame("Hello, world!")];
	for (const [how, steps] of ways(orphan)) add(`5.${n++}`, `continuation (FIN 0) with no message in progress, then text, ${how}`, steps, fails(PROTOCOL_ERROR));

	add(
		"5.15",
		"text in 2 fragments, then an orphan continuation (FIN 0), then text",
		[send([...fragments(Op.TEXT, "fragment1fragment2", [9]), cont("fragment3", { fin: false }), textFrame("fragment4")])],
		fails(PROTOCOL_ERROR, text("fragment1fragment2")),
	);
	const twice = (fin: boolean) => [0, 1].flatMap(() => [cont("fragment1", { fin }), textFrame("fragment2", { fin: false }), cont("fragment3")]);
	add("5.16", "twice: orphan continuation (FIN 0), text fragment, continuation", [send(twice(false))], fails(PROTOCOL_ERROR));
	add("5.17", "twice: orphan continuation (FIN 1), text fragment, continuation", [send(twice(true))], fails(PROTOCOL_ERROR));
	add("5.18", "text in 2 fragments, both with opcode text", [send([textFrame("fragment1", { fin: false }), textFrame("fragment2")])], fails(PROTOCOL_ERROR));
	const five = ["fragment1", "fragment2", "fragment3", "fragment4", "fragment5"];
	const withPings = [
		textFrame(five[0], { fin: false }),
		cont(five[1], { fin: false }),
		ping("pongme 1!"),
		cont(five[2], { fin: false }),
		ping("pongme 2!"),
		cont(five[3], { fin: false }),
		cont(five[4]),
	];
	const pingsExpect = { messages: [text(five.join(""))], pongs: [Buffer.from("pongme 1!"), Buffer.from("pongme 2!")] };
	add(
		"5.19",
		"text in 5 fragments with 2 pings between, 10 ms apart",
		withPings.flatMap(f => [send(f), { sleep: 10 } as Step]),
		pingsExpect,
	);
	add("5.20", "text in 5 fragments with 2 pings between, in one write", [send(withPings)], pingsExpect);

	add("5.21", "binary in 3 fragments", [send(fragments(Op.BINARY, pattern(300), [100, 200]))], { messages: [binary(pattern(300))] });
	add("5.22", "text in 100 fragments of 1 B", [send(fragments(Op.TEXT, ascii(100), every(1, 100)))], { messages: [text(ascii(100))] });
	add("5.23", "text whose first fragment is empty", [send([textFrame("", { fin: false }), cont("abc", { fin: false }), cont("def")])], {
		messages: [text("abcdef")],
	});
	add("5.24", "text with an empty middle fragment", [send([textFrame("abc", { fin: false }), cont("", { fin: false }), cont("def")])], {
		messages: [text("abcdef")],
	});
	add("5.25", "text whose final continuation is empty", [send([textFrame("abc", { fin: false }), cont("def", { fin: false }), cont("")])], {
		messages: [text("abcdef")],
	});
	add(
		"5.26",
		"binary in 2 fragments with an unsolicited pong between",
		[send([binaryFrame(pattern(10), { fin: false }), pong("unsolicited"), cont(pattern(10, 10))])],
		{ messages: [binary(Buffer.concat([pattern(10), pattern(10, 10)]))] },
	);
	add(
		"5.27",
		"binary fragment, then a text frame inside the message",
		[send([binaryFrame(pattern(10), { fin: false }), textFrame("inside")])],
		fails(PROTOCOL_ERROR),
	);
	add(
		"5.28",
		"text fragment, then a binary frame (FIN 1) inside the message",
		[send([textFrame("start", { fin: false }), binaryFrame(pattern(4))])],
		fails(PROTOCOL_ERROR),
	);
	add("5.29", "close in 2 fragments", [send([frame(Op.CLOSE, Buffer.from([3]), { fin: false }), cont(Buffer.from([232]))])], fails(PROTOCOL_ERROR));
	// 5.5.1: a Close may come between fragments; the unfinished message is abandoned.
	add("5.30", "text fragment, then close 1000: the message is abandoned", [send(textFrame("never finished", { fin: false })), sendClose(1000)], {
		close: 1000,
	});
	add("5.31", "binary in 2 fragments, the second 50 ms later", [send(binaryFrame(pattern(64), { fin: false })), { sleep: 50 }, send(cont(pattern(64, 1)))], {
		messages: [binary(Buffer.concat([pattern(64), pattern(64, 1)]))],
	});
	const tenPings = Array.from({ length: 10 }, (_, i) => `p${i}`);
	const interleaved = fragments(Op.BINARY, pattern(1000), every(100, 1000)).flatMap((f, i) => [f, ...(i < 9 ? [ping(tenPings[i])] : [])]);
	add("5.32", "binary in 10 fragments with a ping after each but the last", [send(interleaved)], {
		messages: [binary(pattern(1000))],
		pongs: tenPings.slice(0, 9).map(p => Buffer.from(p)),
		coalesce: true,
	});
	return cases;
}
