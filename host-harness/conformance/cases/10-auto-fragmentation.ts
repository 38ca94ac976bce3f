/*
 * 10 Auto-Fragmentation (Autobahn 10.1.1 and beyond): a client library
 * splitting messages into fixed-size frames, as clients with small buffers
 * do. RFC 6455 5.4: fragment boundaries are arbitrary, even inside UTF-8
 * code points (5.6: validity is judged on the whole message), and control
 * frames may be injected between fragments.
 */
import { binary, type Case, pattern, type SuiteOptions, send, text, utf8Text } from "../case.js";
import { every, fragments, Op } from "../frames.js";
import { collect, echoes, ping, size } from "./common.js";

const SIZES = [1, 7, 125, 126, 1300, 4096, 65535];

export function autoFragmentationCases(options: SuiteOptions): Case[] {
	const { cases, add } = collect();
	const message = utf8Text(65536),
		data = pattern(65536);
	add(
		"10.1.1",
		"text of 64 KiB auto-fragmented into 1300 B frames",
		[send(fragments(Op.TEXT, message, every(1300, 65536)))],
		echoes(options, Op.TEXT, message),
	);
	add(
		"10.1.2",
		"binary of 64 KiB auto-fragmented into 1300 B frames",
		[send(fragments(Op.BINARY, data, every(1300, 65536)))],
		echoes(options, Op.BINARY, data),
	);
	// Tiny fragments make thousands of frames: keep those messages at 4 KiB.
	SIZES.forEach((f, i) => {
		const length = f < 64 ? 4096 : 65536;
		const t = utf8Text(length),
			b = data.subarray(0, length);
		add(
			`10.2.${i + 1}`,
			`multi-byte text of ${size(length)} in ${f} B fragments (cuts inside code points)`,
			[send(fragments(Op.TEXT, t, every(f, length)))],
			echoes(options, Op.TEXT, t),
		);
		add(`10.3.${i + 1}`, `binary of ${size(length)} in ${f} B fragments`, [send(fragments(Op.BINARY, b, every(f, length)))], echoes(options, Op.BINARY, b));
	});
	const small = utf8Text(16384);
	const pinged = fragments(Op.TEXT, small, every(1300, small.length));
	const payloads = pinged.slice(0, -1).map((_, i) => Buffer.from(`ping ${i}`));
	add(
		"10.4.1",
		"text of 16 KiB in 1300 B frames, a ping after each but the last",
		[send(pinged.flatMap((f, i) => (i < payloads.length ? [f, ping(payloads[i])] : [f])))],
		{ messages: [text(small)], pongs: payloads, coalesce: true },
	);
	add(
		"10.4.2",
		"binary of 16 KiB in 1300 B frames, written in 1000 B chops",
		[send(fragments(Op.BINARY, data.subarray(0, 16384), every(1300, 16384)), { chunk: 1000 })],
		{ messages: [binary(data.subarray(0, 16384))] },
	);
	add(
		"10.4.3",
		"two text messages back to back, each in 1300 B frames, one write",
		[send([...fragments(Op.TEXT, small, every(1300, 16384)), ...fragments(Op.TEXT, utf8Text(5000), every(1300, 5000))])],
		{ messages: [text(small), text(utf8Text(5000))] },
	);
	return cases;
}
