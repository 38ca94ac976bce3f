/*
 * Generators of WebSocket cases: client traffic after a good handshake,
 * valid first (whole and fragmented messages of every length form, pings
 * between fragments, "Ping" commands, code points cut across fragments),
 * then usually one mutation that breaks it or tests a limit. The generator
 * does not decide what the server must do: the oracle (ws-oracle.ts) reads
 * the bytes actually produced, so a bit flip or random garbage is judged
 * as precisely as a crafted violation.
 */

import { closeBody, type FrameOptions, frame, Op } from "../conformance/frames.js";
import type { Part, WritePlan, WsCase } from "./case.js";
import type { Rng } from "./prng.js";

export interface WsGenOptions {
	/** Largest payload of a generated message (the simulator echoes about 0.07 MB/s). */
	maxPayload: number;
	/** Longest pause between two writes of a case (ms). */
	maxDelayMs: number;
}

/* --------------------------------------------------------------- payloads */

/** Characters of 1 to 4 UTF-8 bytes, ASCII most often; NUL and DEL are valid UTF-8 too. */
const CHARS: readonly (readonly [string, number])[] = [
	["a", 20],
	["Z", 5],
	[" ", 5],
	["0", 5],
	["\u0000", 1],
	["\u007f", 1],
	["é", 3],
	["ß", 2],
	["€", 3],
	["中", 2],
	["😀", 2],
	["𝄞", 1],
];

/** Valid UTF-8 text of exactly `size` bytes; never one of the server's commands by accident. */
export function textPayload(rng: Rng, size: number): Buffer {
	const parts: Buffer[] = [];
	let have = 0;
	while (have < size) {
		let unit = Buffer.from(rng.weighted(CHARS));
		if (have + unit.length > size) unit = Buffer.from("a");
		parts.push(unit);
		have += unit.length;
	}
	const text = Buffer.concat(parts, size);
	const word = text.toString("latin1");
	if (word === "Ping" || word === "Trigger async") text[0] = 0x61;
	return text;
}

/** A payload size: mostly small, sometimes the 16-bit and 64-bit length forms. */
export function payloadSize(rng: Rng, options: WsGenOptions): number {
	const size = rng.weighted<[number, number]>([
		[[0, 0], 4],
		[[1, 20], 30],
		[[21, 125], 30],
		[[126, 1500], 20],
		[[1501, 16000], 8],
		[[65536, 100_000], 3],
		[[126, 65535], 5],
	]);
	return Math.min(options.maxPayload, rng.int(size[0], size[1]));
}

/* ----------------------------------------------------------------- frames */

/** A masking key: random, sometimes all zero (a key a server must still accept). */
function key(rng: Rng): Buffer {
	return rng.chance(0.03) ? Buffer.alloc(4) : rng.bytes(4);
}

/** A client frame masked with a key from the case's generator. */
export function clientFrame(rng: Rng, opcode: number, payload: Buffer, options: Omit<FrameOptions, "mask"> & { unmasked?: boolean } = {}): Buffer {
	return frame(opcode, payload, { ...options, mask: options.unmasked ? false : key(rng) });
}

/** Length form of a data frame: minimal mostly; the 16- and 64-bit forms of short lengths are legal too. */
function encoding(rng: Rng): FrameOptions["encoding"] {
	return rng.weighted<FrameOptions["encoding"]>([
		["minimal", 85],
		[16, 10],
		[64, 5],
	]);
}

const opName = (op: number) =>
	op === Op.TEXT
		? "text"
		: op === Op.BINARY
			? "binary"
			: op === Op.CONT
				? "cont"
				: op === Op.PING
					? "ping"
					: op === Op.PONG
						? "pong"
						: op === Op.CLOSE
							? "close"
							: `op${op}`;

/** A message split into frames at `cuts`, with control frames between fragments now and then. */
function fragmented(rng: Rng, opcode: number, payload: Buffer, cuts: number[], label: string): Part[] {
	const bounds = [0, ...cuts, payload.length];
	const parts: Part[] = [];
	for (let i = 0; i + 1 < bounds.length; i++) {
		const last = i + 2 === bounds.length;
		const piece = payload.subarray(bounds[i], bounds[i + 1]);
		parts.push({
			bytes: clientFrame(rng, i === 0 ? opcode : Op.CONT, piece, { fin: last, encoding: encoding(rng) }),
			label: `${i === 0 ? label : "cont"} ${piece.length} B${last ? "" : " (fin 0)"}`,
		});
		if (!last && rng.chance(0.2)) parts.push(controlUnit(rng));
	}
	return parts;
}

function controlUnit(rng: Rng): Part {
	const opcode = rng.chance(0.75) ? Op.PING : Op.PONG;
	const payload = rng.bytes(
		rng.weighted([
			[0, 3],
			[rng.int(1, 16), 5],
			[rng.int(17, 125), 2],
		]),
	);
	return { bytes: clientFrame(rng, opcode, payload), label: `${opName(opcode)} ${payload.length} B` };
}

/** One valid unit: a whole or fragmented message, a ping or pong, or the "Ping" command. */
export function validUnit(rng: Rng, options: WsGenOptions): Part[] {
	const kind = rng.weighted([
		["whole", 45],
		["fragmented", 25],
		["control", 20],
		["command", 4],
	] as const);
	if (kind === "control") return [controlUnit(rng)];
	if (kind === "command")
		return rng.chance(0.5)
			? [{ bytes: clientFrame(rng, Op.TEXT, Buffer.from("Ping")), label: 'text "Ping"' }]
			: fragmented(rng, Op.TEXT, Buffer.from("Ping"), [2], 'text "Pi|ng"');
	const opcode = rng.chance(0.5) ? Op.TEXT : Op.BINARY;
	const size = payloadSize(rng, options);
	const payload = opcode === Op.TEXT ? textPayload(rng, size) : rng.bytes(size);
	if (kind === "whole") {
		const form = encoding(rng);
		return [
			{
				bytes: clientFrame(rng, opcode, payload, { encoding: form }),
				label: `${opName(opcode)} ${size} B${form !== "minimal" ? ` (${form}-bit length)` : ""}`,
			},
		];
	}
	// Cut anywhere, inside code points too, and sometimes into empty fragments.
	const cuts = rng.chance(0.1) ? [0, ...rng.cuts(size, rng.int(1, 3)), size] : rng.cuts(size, rng.int(1, 4));
	return fragmented(rng, opcode, payload, cuts, opName(opcode));
}

/* -------------------------------------------------------------- mutations */

const INVALID_UTF8: readonly number[][] = [
	[0x80],
	[0xbf],
	[0xc0, 0xaf],
	[0xc1, 0xbf],
	[0xe0, 0x80, 0x80],
	[0xe0, 0x9f, 0xbf],
	[0xed, 0xa0, 0x80],
	[0xed, 0xbf, 0xbf],
	[0xf0, 0x80, 0x80, 0x80],
	[0xf4, 0x90, 0x80, 0x80],
	[0xf5, 0x80, 0x80, 0x80],
	[0xf8],
	[0xfe],
	[0xff],
	[0xe2, 0x82, 0x41],
	[0xc3, 0x28],
];
/** The first bytes of valid multi-byte characters: a message that ends with one ends inside a code point. */
const CUT_SHORT: readonly number[][] = [[0xc3], [0xe2], [0xe2, 0x82], [0xf0], [0xf0, 0x9f], [0xf0, 0x9f, 0x98]];

export const CLOSE_CODES = {
	valid: [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4242, 4999],
	registered: [1012, 1013, 1014],
	invalid: [0, 1, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535],
};

type Mutation =
	| "none"
	| "rsv"
	| "opcode"
	| "unmasked"
	| "fragmentedControl"
	| "longControl"
	| "nonMinimalControl"
	| "continuation"
	| "newMessage"
	| "badUtf8"
	| "utf8CutShort"
	| "close"
	| "truncate"
	| "topBit"
	| "hugeLegal"
	| "over53"
	| "garbage"
	| "bitflip"
	| "splice"
	| "afterClose";

const MUTATIONS: readonly (readonly [Mutation, number])[] = [
	["none", 12],
	["rsv", 5],
	["opcode", 5],
	["unmasked", 6],
	["fragmentedControl", 5],
	["longControl", 4],
	["nonMinimalControl", 3],
	["continuation", 5],
	["newMessage", 5],
	["badUtf8", 10],
	["utf8CutShort", 4],
	["close", 10],
	["truncate", 6],
	["topBit", 3],
	["hugeLegal", 4],
	["over53", 2],
	["garbage", 5],
	["bitflip", 6],
	["splice", 3],
	["afterClose", 4],
];

/** The parts a mutation adds after the valid traffic (or the whole stream it rewrites). */
function mutate(rng: Rng, mutation: Mutation, before: Part[], options: WsGenOptions): Part[] {
	const small = () => rng.bytes(rng.int(0, 40));
	switch (mutation) {
		case "none":
			return [];
		case "rsv": {
			const rsv = rng.int(1, 7);
			const opcode = rng.pick([Op.TEXT, Op.BINARY, Op.PING, Op.CLOSE]);
			const payload = opcode === Op.TEXT ? textPayload(rng, rng.int(0, 60)) : opcode === Op.CLOSE ? closeBody(1000) : small();
			return [{ bytes: clientFrame(rng, opcode, payload, { rsv }), label: `${opName(opcode)} with RSV ${rsv}` }];
		}
		case "opcode": {
			const opcode = rng.pick([3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf]);
			return [{ bytes: clientFrame(rng, opcode, small(), { fin: rng.chance(0.8) }), label: `reserved opcode ${opcode}` }];
		}
		case "unmasked": {
			const opcode = rng.pick([Op.TEXT, Op.BINARY, Op.PING, Op.PONG, Op.CLOSE]);
			const payload = opcode === Op.TEXT ? textPayload(rng, rng.int(0, 100)) : opcode === Op.CLOSE ? closeBody(1000, "bye") : small();
			return [{ bytes: clientFrame(rng, opcode, payload, { unmasked: true }), label: `unmasked ${opName(opcode)} ${payload.length} B` }];
		}
		case "fragmentedControl": {
			const opcode = rng.pick([Op.PING, Op.PONG, Op.CLOSE]);
			return [{ bytes: clientFrame(rng, opcode, opcode === Op.CLOSE ? closeBody(1000) : small(), { fin: false }), label: `${opName(opcode)} with fin 0` }];
		}
		case "longControl": {
			const opcode = rng.pick([Op.PING, Op.PONG, Op.CLOSE]);
			const payload = opcode === Op.CLOSE ? closeBody(1000, textPayload(rng, rng.int(124, 200))) : rng.bytes(rng.int(126, 300));
			return [{ bytes: clientFrame(rng, opcode, payload), label: `${opName(opcode)} of ${payload.length} B (over 125)` }];
		}
		case "nonMinimalControl": {
			const opcode = rng.pick([Op.PING, Op.PONG]);
			const form = rng.pick([16, 64] as const);
			const payload = small();
			return [{ bytes: clientFrame(rng, opcode, payload, { encoding: form }), label: `${opName(opcode)} ${payload.length} B in the ${form}-bit length form` }];
		}
		case "continuation": {
			const payload = small();
			return [{ bytes: clientFrame(rng, Op.CONT, payload, { fin: rng.chance(0.5) }), label: `continuation ${payload.length} B without a message` }];
		}
		case "newMessage": {
			const first = rng.pick([Op.TEXT, Op.BINARY]),
				second = rng.pick([Op.TEXT, Op.BINARY]);
			return [
				{ bytes: clientFrame(rng, first, first === Op.TEXT ? textPayload(rng, rng.int(0, 30)) : small(), { fin: false }), label: `${opName(first)} (fin 0)` },
				{
					bytes: clientFrame(rng, second, second === Op.TEXT ? textPayload(rng, rng.int(0, 30)) : small(), { fin: rng.chance(0.7) }),
					label: `${opName(second)} inside it`,
				},
			];
		}
		case "badUtf8": {
			const bad = Buffer.from(rng.pick(INVALID_UTF8));
			const head = textPayload(rng, Math.min(options.maxPayload, rng.int(0, 300))),
				tail = textPayload(rng, rng.int(0, 40));
			const payload = Buffer.concat([head, bad, tail]);
			// Often fragmented with a cut inside or right before the bad sequence: found at its first bad byte all the same.
			const cuts = rng.chance(0.6)
				? [...new Set([head.length + rng.int(0, bad.length - 1), ...rng.cuts(payload.length, rng.int(0, 2))])]
						.filter(c => c > 0 && c < payload.length)
						.sort((a, b) => a - b)
				: [];
			return fragmented(rng, Op.TEXT, payload, cuts, `text with ${bad.toString("hex")} at ${head.length}`);
		}
		case "utf8CutShort": {
			const payload = Buffer.concat([textPayload(rng, rng.int(0, 50)), Buffer.from(rng.pick(CUT_SHORT))]);
			return fragmented(rng, Op.TEXT, payload, rng.cuts(payload.length, rng.int(0, 2)), "text ending inside a code point");
		}
		case "close":
			return [closePart(rng)];
		case "truncate": {
			// A frame cut short (header or payload), then nothing more: the client half-closes.
			const unit = validUnit(rng, options)[0].bytes;
			const at = rng.chance(0.5) ? rng.int(1, Math.min(unit.length - 1, 13)) : rng.int(1, unit.length - 1);
			return [{ bytes: unit.subarray(0, Math.max(1, at)), label: `frame cut at byte ${at} of ${unit.length}` }];
		}
		case "topBit": {
			const declared = (1n << 63n) | BigInt(rng.int(0, 1000));
			return [{ bytes: clientFrame(rng, rng.pick([Op.TEXT, Op.BINARY]), small(), { declared }), label: `64-bit length ${declared} (top bit set)` }];
		}
		case "hugeLegal": {
			const declared = BigInt(rng.int(65536, 2 ** 31)) * BigInt(rng.int(1, 512));
			const opcode = rng.pick([Op.TEXT, Op.BINARY]);
			const payload = opcode === Op.TEXT ? textPayload(rng, rng.int(0, 200)) : rng.bytes(rng.int(0, 200));
			return [{ bytes: clientFrame(rng, opcode, payload, { declared }), label: `${opName(opcode)} declaring ${declared} B, ${payload.length} sent` }];
		}
		case "over53": {
			const declared = (1n << 53n) + BigInt(rng.int(0, 2 ** 30)) * BigInt(rng.int(1, 2 ** 20));
			return [{ bytes: clientFrame(rng, rng.pick([Op.TEXT, Op.BINARY]), small(), { declared }), label: `64-bit length ${declared} (2^53 or more)` }];
		}
		case "garbage": {
			const bytes = rng.bytes(rng.int(1, 64));
			return [{ bytes, label: `garbage ${bytes.length} B` }];
		}
		case "bitflip":
		case "splice": {
			// Rewrites what came before (the caller replaces it).
			const stream = Buffer.concat(before.map(p => p.bytes));
			if (!stream.length) return [{ bytes: rng.bytes(rng.int(1, 16)), label: "garbage" }];
			if (mutation === "bitflip") {
				const at = rng.int(0, stream.length - 1),
					bit = rng.int(0, 7);
				stream[at] ^= 1 << bit;
				return [{ bytes: stream, label: `${before.map(p => p.label).join(", ")} with bit ${bit} of byte ${at} flipped` }];
			}
			const from = rng.int(0, stream.length - 1),
				to = rng.int(from + 1, Math.min(stream.length, from + 64));
			return [
				{
					bytes: Buffer.concat([stream.subarray(0, from), stream.subarray(to)]),
					label: `${before.map(p => p.label).join(", ")} with bytes ${from}..${to - 1} cut out`,
				},
			];
		}
		case "afterClose": {
			const close = validClose(rng);
			return [close, ...validUnit(rng, options), ...(rng.chance(0.5) ? [{ bytes: rng.bytes(rng.int(1, 30)), label: "garbage" }] : [])];
		}
	}
}

function validClose(rng: Rng): Part {
	if (rng.chance(0.2)) return { bytes: clientFrame(rng, Op.CLOSE, Buffer.alloc(0)), label: "close (empty)" };
	const code = rng.pick(CLOSE_CODES.valid);
	const reason = rng.chance(0.5) ? textPayload(rng, rng.int(0, 123)) : Buffer.alloc(0);
	return { bytes: clientFrame(rng, Op.CLOSE, closeBody(code, reason)), label: `close ${code}${reason.length ? ` + ${reason.length} B reason` : ""}` };
}

/** Close frames of every shape: valid, registered, invalid codes, 1-byte bodies, bad reasons. */
function closePart(rng: Rng): Part {
	const shape = rng.weighted([
		["valid", 4],
		["registered", 1],
		["invalid", 3],
		["oneByte", 1],
		["badReason", 2],
	] as const);
	if (shape === "valid") return validClose(rng);
	if (shape === "oneByte") {
		const body = rng.bytes(1);
		return { bytes: clientFrame(rng, Op.CLOSE, body), label: `close with 1-byte body ${body.toString("hex")}` };
	}
	const code = shape === "registered" ? rng.pick(CLOSE_CODES.registered) : shape === "invalid" ? rng.pick(CLOSE_CODES.invalid) : rng.pick(CLOSE_CODES.valid);
	const reason =
		shape === "badReason" ? Buffer.concat([textPayload(rng, rng.int(0, 40)), Buffer.from(rng.pick(INVALID_UTF8))]) : textPayload(rng, rng.int(0, 20));
	return {
		bytes: clientFrame(rng, Op.CLOSE, closeBody(code, reason)),
		label: `close ${code}${shape === "badReason" ? " with a reason that is not UTF-8" : ""}`,
	};
}

/* ------------------------------------------------------------------ cases */

/** How a case's bytes are written: at once, in a few pieces, or byte by byte. */
export function writePlan(rng: Rng, length: number, maxDelayMs: number): WritePlan {
	const mode = rng.weighted([
		["once", 40],
		["pieces", 40],
		["bytes", 10],
		["many", 10],
	] as const);
	const delayMs = maxDelayMs > 0 && rng.chance(0.15) ? rng.int(1, maxDelayMs) : 0;
	const hangUp = rng.chance(0.8);
	if (mode === "once" || length < 2) return { cuts: [], delayMs: 0, hangUp };
	if (mode === "bytes" && length <= 200) return { cuts: Array.from({ length: length - 1 }, (_, i) => i + 1), delayMs: 0, hangUp };
	return { cuts: rng.cuts(length, mode === "many" ? rng.int(5, 20) : rng.int(1, 4)), delayMs, hangUp };
}

export function wsCase(rng: Rng, index: number, seed: number, options: WsGenOptions): WsCase {
	let parts: Part[] = [];
	const units = rng.weighted([
		[0, 2],
		[1, 4],
		[2, 3],
		[3, 2],
		[5, 1],
	] as const);
	for (let i = 0; i < units; i++) parts.push(...validUnit(rng, options));
	const mutation = rng.weighted(MUTATIONS);
	const added = mutate(rng, mutation, parts, options);
	if (mutation === "bitflip" || mutation === "splice") parts = added;
	else parts.push(...added);
	// Valid traffic after a violation must be ignored; after valid traffic, the client may close itself.
	if (mutation !== "truncate" && mutation !== "hugeLegal" && mutation !== "over53" && rng.chance(0.3)) parts.push(...validUnit(rng, options));
	if ((mutation === "none" || mutation === "nonMinimalControl") && rng.chance(0.3)) parts.push(validClose(rng));
	const length = parts.reduce((n, p) => n + p.bytes.length, 0);
	return { kind: "ws", index, seed, parts, writes: writePlan(rng, length, options.maxDelayMs) };
}
