/*
 * 6 UTF-8 Handling (RFC 6455 5.6, 8.1): text payloads MUST be UTF-8; on
 * invalid data "the endpoint MUST _Fail the WebSocket Connection_" (1007).
 * Validity is a property of the whole message, not of a frame: code points
 * may be split across fragments and TCP writes anywhere. Fail fast: the
 * server must close as soon as a byte makes the text certainly invalid,
 * without waiting for the rest of the message (Autobahn 6.4, strict).
 */
import { ascii, type Case, failFast, type Step, send, text, utf8Text } from "../case.js";
import { every, fragments, Op } from "../frames.js";
import { collect, cont, fails, INVALID_PAYLOAD, ping, textFrame } from "./common.js";
import { utf8Vectors } from "./utf8-vectors.js";

const hex = (h: string) => Buffer.from(h, "hex");
/** Header bytes of a masked frame carrying `length` bytes. */
const headerSize = (length: number) => (length < 126 ? 2 : length < 65536 ? 4 : 10) + 4;

/** One text frame written in pieces cut at these payload offsets, with a fail-fast gate after piece `gateAfter`. */
function chopped(payload: Buffer, cuts: number[], gateAfter: number): Step[] {
	const wire = textFrame(payload);
	const bounds = [0, ...cuts.map(c => c + headerSize(payload.length)), wire.length];
	const steps: Step[] = [];
	for (let i = 0; i + 1 < bounds.length; i++) {
		steps.push(send(wire.subarray(bounds[i], bounds[i + 1])), { sleep: 10 });
		if (i === gateAfter) steps.push(failFast);
	}
	return steps;
}

/** A text message in fragments, 10 ms apart, with a fail-fast gate after fragment `gateAfter`. */
function fragmented(parts: Buffer[], gateAfter: number, between: Buffer[] = []): Step[] {
	const frames = fragments(
		Op.TEXT,
		Buffer.concat(parts),
		parts.slice(0, -1).map((_, i) => parts.slice(0, i + 1).reduce((n, p) => n + p.length, 0)),
	);
	return frames.flatMap((f, i) => [send(f), ...(between[i] ? [send(between[i])] : []), { sleep: 10 } as Step, ...(i === gateAfter ? [failFast] : [])]);
}

export function utf8Cases(): Case[] {
	const { cases, add } = collect();
	add("6.1.1", "empty text message", [send(textFrame(""))], { messages: [text("")] });
	add("6.1.2", "empty text message in 3 empty fragments", [send([textFrame("", { fin: false }), cont("", { fin: false }), cont("")])], {
		messages: [text("")],
	});
	add("6.1.3", "text in 3 fragments, first and last empty", [send([textFrame("", { fin: false }), cont("middle frame payload", { fin: false }), cont("")])], {
		messages: [text("middle frame payload")],
	});

	const hello = Buffer.from("Hello-µ@ßöäüàá-UTF-8!!");
	const kosme = hex("cebae1bdb9cf83cebcceb5");
	add("6.2.1", "valid UTF-8 in one frame", [send(textFrame(hello))], { messages: [text(hello)] });
	add("6.2.2", "valid UTF-8 in 2 fragments, split on a code point boundary", [send(fragments(Op.TEXT, hello, [7]))], { messages: [text(hello)] });
	add("6.2.3", "valid UTF-8, one byte per fragment (splits inside code points)", [send(fragments(Op.TEXT, hello, every(1, hello.length)))], {
		messages: [text(hello)],
	});
	add("6.2.4", '"κόσμε", one byte per fragment', [send(fragments(Op.TEXT, kosme, every(1, kosme.length)))], { messages: [text(kosme)] });

	const edited = Buffer.concat([kosme, hex("eda080"), Buffer.from("edited")]);
	add("6.3.1", "invalid UTF-8 (a surrogate) in one frame", [send(textFrame(edited))], fails(INVALID_PAYLOAD));
	add("6.3.2", "invalid UTF-8 (a surrogate), one byte per fragment", [send(fragments(Op.TEXT, edited, every(1, edited.length)))], fails(INVALID_PAYLOAD));

	// 6.4: fail fast. The rest of the message is only sent after the gate.
	add(
		"6.4.1",
		"3 fragments: valid, U+110000, rest: close before the 3rd",
		fragmented([kosme, hex("f4908080"), Buffer.from("edited")], 1),
		fails(INVALID_PAYLOAD),
	);
	add(
		"6.4.2",
		"3 fragments: valid + F4, 90, rest: close before the 3rd",
		fragmented([Buffer.concat([kosme, hex("f4")]), hex("90"), hex("8080656469746564")], 1),
		fails(INVALID_PAYLOAD),
	);
	const whole = Buffer.concat([kosme, hex("f4908080"), Buffer.from("edited")]);
	add("6.4.3", "1 frame in 3 writes: valid, U+110000, rest: close before the 3rd", chopped(whole, [11, 15], 1), fails(INVALID_PAYLOAD));
	add("6.4.4", "1 frame in 3 writes: valid + F4, 90, rest: close before the 3rd", chopped(whole, [12, 13], 1), fails(INVALID_PAYLOAD));

	// 6.5-6.23: the vectors, each as one text frame.
	for (const vector of utf8Vectors) {
		const payload = hex(vector.hex);
		add(
			vector.id,
			`${vector.description}: ${vector.hex.length > 24 ? `${vector.hex.slice(0, 24)}… (${payload.length} B)` : vector.hex}`,
			[send(textFrame(payload))],
			vector.valid ? { messages: [text(payload)] } : fails(INVALID_PAYLOAD),
		);
	}

	// 6.24: valid text split inside code points, across fragments and across TCP writes.
	const splits: [string, Buffer, number[]][] = [
		["2-byte µ, fragments split after its 1st byte", Buffer.from("aµb"), [2]],
		["3-byte €, fragments split after its 1st byte", Buffer.from("a€b"), [2]],
		["3-byte €, fragments split after its 2nd byte", Buffer.from("a€b"), [3]],
		["3-byte €, one byte per fragment", Buffer.from("€"), [1, 2]],
		["4-byte 𝄞, fragments split after its 1st byte", Buffer.from("a𝄞b"), [2]],
		["4-byte 𝄞, fragments split after its 2nd byte", Buffer.from("a𝄞b"), [3]],
		["4-byte 𝄞, fragments split after its 3rd byte", Buffer.from("a𝄞b"), [4]],
		["4-byte 𝄞, one byte per fragment", Buffer.from("𝄞"), [1, 2, 3]],
	];
	splits.forEach(([description, payload, cuts], i) =>
		add(`6.24.${i + 1}`, description, [send(fragments(Op.TEXT, payload, cuts))], { messages: [text(payload)] }),
	);
	[
		["2-byte µ", "aµb"],
		["3-byte €", "a€b"],
		["4-byte 𝄞", "a𝄞b"],
	].forEach(([name, s], i) => {
		const payload = Buffer.from(s);
		add(`6.24.${9 + i}`, `one frame, TCP writes split after the 1st byte of ${name}`, chopped(payload, [2], -1), { messages: [text(payload)] });
	});
	const mixed = utf8Text(10000);
	add("6.24.12", "10000 B of mixed 1- to 4-byte text in fragments of 7 B", [send(fragments(Op.TEXT, mixed, every(7, mixed.length)))], {
		messages: [text(mixed)],
	});
	add("6.24.13", '"κόσμε" in 5 fragments, one code point each', [send(fragments(Op.TEXT, kosme, [2, 5, 7, 9]))], { messages: [text(kosme)] });

	// 6.25: invalid text, fail fast wherever the proof lands; or at the end, for a message ending inside a code point.
	const a = (s: string) => Buffer.from(s);
	add(
		"6.25.1",
		"surrogate split across fragments (ED | A0 80): close before the rest",
		fragmented([Buffer.concat([a("a"), hex("ed")]), hex("a080"), a("end")], 1),
		fails(INVALID_PAYLOAD),
	);
	add(
		"6.25.2",
		"U+110000 split (F4 | 90): close before the rest",
		fragmented([Buffer.concat([a("ab"), hex("f4")]), hex("90"), Buffer.concat([hex("8080"), a("end")])], 1),
		fails(INVALID_PAYLOAD),
	);
	add("6.25.3", "overlong C0 AF in the 2nd fragment: close before the rest", fragmented([a("abc"), hex("c0af"), a("end")], 1), fails(INVALID_PAYLOAD));
	add("6.25.4", "4096 B of valid text, then FF: close before the rest", fragmented([ascii(4096), hex("ff"), a("end")], 1), fails(INVALID_PAYLOAD));
	const longFrame = Buffer.concat([ascii(500), hex("ff"), ascii(499)]);
	add("6.25.5", "one 1000 B frame, FF at byte 500, the rest withheld until the close", chopped(longFrame, [501], 0), fails(INVALID_PAYLOAD));
	const overlong3 = Buffer.concat([a("abc"), hex("e080af"), a("def")]);
	add("6.25.6", "one frame, E0 80 (overlong) in the 2nd write: close before the 3rd", chopped(overlong3, [3, 5], 1), fails(INVALID_PAYLOAD));
	add(
		"6.25.7",
		"text in 2 fragments ending inside a code point (E2 82)",
		[send(fragments(Op.TEXT, Buffer.concat([a("abc"), hex("e282")]), [3]))],
		fails(INVALID_PAYLOAD),
	);
	add("6.25.8", "one frame ending inside a code point (F0 9D 84)", [send(textFrame(Buffer.concat([a("abc"), hex("f09d84")])))], fails(INVALID_PAYLOAD));
	add(
		"6.25.9",
		"fragment, ping, fragment with FF: pong, then close before the rest",
		fragmented([a("valid "), hex("ff"), a("end")], 1, [ping("ping between")]),
		{ ...fails(INVALID_PAYLOAD), pongs: [a("ping between")] },
	);
	add("6.25.10", "first fragment (FIN 0) invalid: close before any continuation", fragmented([hex("c0"), a("end")], 0), fails(INVALID_PAYLOAD));
	return cases;
}
