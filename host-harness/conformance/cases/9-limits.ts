/*
 * 9 Limits and Performance (lite), scaled to the device: large messages
 * whole, fragmented and written in small chops, round trips, and the
 * server's message limit. RFC 6455 10.4: an implementation with a size
 * limit fails the connection with 1009 (7.4.1) on a message over it, judged
 * from the declared length: it must not wait for the payload. A server
 * without a limit (one that streams its echo) must echo every size.
 *
 * Parameterised by { maxMessage?, sizes }: sizes over maxMessage expect
 * 1009; the boundary cases sit at maxMessage, or 65536 when there is none.
 */
import { ascii, type Case, failFast, pattern, type Step, type SuiteOptions, send } from "../case.js";
import { every, fragments, frame, Op } from "../frames.js";
import { collect, echoes, fails, MESSAGE_TOO_BIG, over, size } from "./common.js";

const FRAGMENT_SIZES = [64, 256, 1024, 4096, 16384, 65536];
const CHOPS = [64, 128, 256, 512, 1024, 2048];
const ROUND_TRIP_SIZES = [0, 16, 64, 256, 1024, 4096];

export function limitCases(options: SuiteOptions): Case[] {
	const { cases, add } = collect();
	const kinds = [
		["text", Op.TEXT, ascii],
		["binary", Op.BINARY, pattern],
	] as const;
	const largest = Math.max(...options.sizes);

	// 9.1/9.2: one frame per message.
	kinds.forEach(([kind, opcode, data], k) =>
		options.sizes.forEach((n, i) => {
			const payload = data(n);
			add(`9.${1 + k}.${i + 1}`, `${kind} message of ${size(n)} in one frame`, whole(options, opcode, payload), echoes(options, opcode, payload));
		}),
	);
	// 9.3/9.4: the largest message, fragmented.
	kinds.forEach(([kind, opcode, data], k) =>
		FRAGMENT_SIZES.filter(f => f < largest).forEach((f, i) => {
			const payload = data(largest);
			add(
				`9.${3 + k}.${i + 1}`,
				`${kind} message of ${size(largest)} in fragments of ${size(f)}`,
				split(options, () => fragments(opcode, payload, every(f, largest)), largest),
				echoes(options, opcode, payload),
			);
		}),
	);
	// 9.5/9.6: one frame written in small chops (the server reassembles TCP pieces).
	const chopped = Math.min(largest, 1 << 20);
	kinds.forEach(([kind, opcode, data], k) =>
		CHOPS.forEach((c, i) => {
			const payload = data(chopped);
			add(
				`9.${5 + k}.${i + 1}`,
				`${kind} message of ${size(chopped)}, written in chops of ${c} B`,
				[send(() => frame(opcode, payload), { chunk: c })],
				echoes(options, opcode, payload),
			);
		}),
	);
	// 9.7/9.8: round trips, each message sent once the previous echo is back.
	const count = options.roundTrips;
	kinds.forEach(([kind, opcode, data], k) =>
		ROUND_TRIP_SIZES.filter(n => !over(options, n)).forEach((n, i) => {
			const messages = Array.from({ length: count }, (_, j) => data(n, j));
			add(
				`9.${7 + k}.${i + 1}`,
				`${count} ${kind} messages of ${n} B, one round trip each`,
				messages.flatMap((m, j): Step[] => [send(frame(opcode, m)), { messages: j + 1 }]),
				{ messages: messages.map(m => ({ type: opcode, data: m })) },
			);
		}),
	);

	// 9.9: at the limit. Over it, the header alone must be enough for the server to fail (10.4).
	const limit = options.maxMessage ?? 65536;
	kinds.forEach(([kind, opcode, data], k) => {
		const at = data(limit),
			above = data(limit + 1);
		add(`9.9.${1 + 3 * k}`, `${kind} message of exactly ${size(limit)}`, whole(options, opcode, at), echoes(options, opcode, at));
		add(`9.9.${2 + 3 * k}`, `${kind} message of ${limit + 1} B in one frame`, whole(options, opcode, above), echoes(options, opcode, above));
		add(
			`9.9.${3 + 3 * k}`,
			`${kind} message of ${limit + 1} B in 2 fragments, the second crossing the limit`,
			split(options, () => fragments(opcode, above, [limit >> 1]), above.length),
			echoes(options, opcode, above),
		);
	});
	const exact = pattern(limit);
	add(
		"9.9.7",
		`binary message of exactly ${size(limit)} in fragments of 1000 B`,
		[send(() => fragments(Op.BINARY, exact, every(1000, limit)))],
		echoes(options, Op.BINARY, exact),
	);
	if (options.maxMessage !== undefined)
		add(
			"9.9.8",
			"binary frame declaring 2^40 B (header and 16 B sent): 1009 from the header",
			[send(frame(Op.BINARY, pattern(16), { declared: 1n << 40n })), failFast],
			fails(MESSAGE_TOO_BIG),
		);
	return cases;
}

/** One frame; when it is over the limit, its header and 1 KiB first, then the gate, then the rest. */
function whole(options: SuiteOptions, opcode: number, payload: Buffer): Step[] {
	return split(options, () => [frame(opcode, payload)], payload.length);
}

/**
 * Frames made when the case runs; when the message is over the limit, the bytes up to 1 KiB past
 * the last frame's header first, then the fail-fast gate, then the rest.
 */
function split(options: SuiteOptions, build: () => Buffer[], length: number): Step[] {
	if (!over(options, length)) return [send(build)];
	let parts: Buffer[] | undefined;
	const part = (i: number) => () => {
		if (!parts) {
			const frames = build(),
				wire = Buffer.concat(frames);
			const cut = Math.min(wire.length, wire.length - frames[frames.length - 1].length + 14 + 1024);
			parts = [wire.subarray(0, cut), wire.subarray(cut)];
		}
		const out = parts[i];
		if (i === 1) parts = undefined;
		return out;
	};
	return [send(part(0)), failFast, send(part(1))];
}
