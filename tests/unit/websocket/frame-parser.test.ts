import { describe, expect, it } from "vitest";
import { FrameParser } from "websocket/frame-parser";
import { chunk, concat, encode, FrameRecorder, feedSplit, hex, MASK } from "./helpers.js";

function parse(data: Uint8Array, role: "server" | "client", splits: number[] = [], allowedRsv?: number): FrameRecorder {
	const recorder = new FrameRecorder();
	const parser = new FrameParser(recorder, { role, allowedRsv });
	feedSplit(c => parser.feed(c), data, splits);
	return recorder;
}

function patterned(length: number, seed = 1): Uint8Array {
	const out = new Uint8Array(length);
	for (let i = 0; i < length; i++) out[i] = (i * 31 + seed * 7 + (i >> 8)) & 0xff;
	return out;
}

const mask2 = Uint8Array.of(0x01, 0x80, 0xfe, 0x7f);

/** Several frames of all kinds, masked as a client sends them. */
const stream = concat(
	encode({ opcode: 1, payload: "Hello", mask: MASK }),
	encode({ opcode: 9, payload: "ping!", mask: mask2 }),
	encode({ opcode: 2, fin: false, payload: patterned(130), mask: MASK }),
	encode({ opcode: 10, payload: "", mask: MASK }),
	encode({ opcode: 0, fin: false, payload: "", mask: mask2 }),
	encode({ opcode: 0, payload: patterned(9, 3), mask: mask2, lengthBits: 64 }),
	encode({ opcode: 1, payload: "", mask: MASK }),
	encode({ opcode: 8, payload: Uint8Array.of(0x03, 0xe8, 0x62, 0x79, 0x65), mask: MASK }),
);

const expected = [
	{ start: 1, fin: true, length: 5, rsv: 0 },
	{ data: Buffer.from("Hello").toString("hex") },
	{ control: 9, payload: Buffer.from("ping!").toString("hex") },
	{ start: 2, fin: false, length: 130, rsv: 0 },
	{ data: hex(patterned(130)) },
	{ control: 10, payload: "" },
	{ start: 0, fin: false, length: 0, rsv: 0 },
	{ data: "" },
	{ start: 0, fin: true, length: 9, rsv: 0 },
	{ data: hex(patterned(9, 3)) },
	{ start: 1, fin: true, length: 0, rsv: 0 },
	{ data: "" },
	{ control: 8, payload: "03e8627965" },
];

describe("FrameParser: streaming input", () => {
	it("parses several frames from one chunk", () => {
		expect(parse(stream, "server").events).toEqual(expected);
	});

	it("gives the same events for every single split position", () => {
		for (let i = 1; i < stream.length; i++) expect(parse(stream, "server", [i]).events, `split at ${i}`).toEqual(expected);
	});

	it("gives the same events for every pair of split positions", () => {
		let failures = 0;
		const want = JSON.stringify(expected);
		for (let i = 1; i < stream.length; i++)
			for (let j = i + 1; j < stream.length; j++) if (JSON.stringify(parse(stream, "server", [i, j]).events) !== want) failures++;
		expect(failures).toBe(0);
	});

	it("works one byte at a time", () => {
		const splits = Array.from({ length: stream.length - 1 }, (_, i) => i + 1);
		const recorder = parse(stream, "server", splits);
		expect(recorder.events).toEqual(expected);
		expect(Math.max(...recorder.pieces)).toBe(1);
	});

	it("parses unmasked frames in the client role", () => {
		const plain = concat(encode({ opcode: 1, payload: "Hi" }), encode({ opcode: 9, payload: "p" }), encode({ opcode: 2, payload: patterned(300) }));
		const want = [
			{ start: 1, fin: true, length: 2, rsv: 0 },
			{ data: "4869" },
			{ control: 9, payload: "70" },
			{ start: 2, fin: true, length: 300, rsv: 0 },
			{ data: hex(patterned(300)) },
		];
		for (let i = 0; i < plain.length; i++) expect(parse(plain, "client", [i]).events).toEqual(want);
	});
});

describe("FrameParser: lengths and masking", () => {
	for (const length of [0, 1, 125, 126, 127, 65535, 65536, 100_000]) {
		it(`streams a ${length}-byte masked payload in uneven pieces`, () => {
			const payload = patterned(length, length);
			const frame = encode({ opcode: 2, payload, mask: MASK });
			const sizes = [1, 2, 3, 5, 7, 1460, 4096];
			const splits: number[] = [];
			for (let at = 0, k = 0; at < frame.length; at += sizes[k++ % sizes.length]) splits.push(at);
			const recorder = parse(frame, "server", splits);
			expect(recorder.events[0]).toEqual({ start: 2, fin: true, length, rsv: 0 });
			expect((recorder.events[1] as { data: string }).data === hex(payload)).toBe(true);
			expect(recorder.events.length).toBe(2);
		});
	}

	it("uses the 7-, 16- and 64-bit length forms", () => {
		expect(encode({ opcode: 2, payload: patterned(125) })[1]).toBe(125);
		expect(encode({ opcode: 2, payload: patterned(126) })[1]).toBe(126);
		expect(encode({ opcode: 2, payload: patterned(65536) })[1]).toBe(127);
		for (const lengthBits of [7, 16, 64] as const) {
			const events = parse(encode({ opcode: 1, payload: "abc", mask: MASK, lengthBits }), "server").events;
			expect(events).toEqual([{ start: 1, fin: true, length: 3, rsv: 0 }, { data: "616263" }]);
		}
	});

	it("keeps memory bounded: pieces never exceed the chunks they come from", () => {
		const payload = patterned(1 << 20);
		const frame = encode({ opcode: 2, payload, mask: MASK });
		const splits: number[] = [];
		for (let at = 1460; at < frame.length; at += 1460) splits.push(at);
		const recorder = parse(frame, "server", splits);
		expect(Math.max(...recorder.pieces)).toBeLessThanOrEqual(1460);
		expect(recorder.pieces.reduce((a, b) => a + b, 0)).toBe(1 << 20);
		expect((recorder.events[1] as { data: string }).data === hex(payload)).toBe(true);
	});

	it("hands out a chunk that is all payload as the piece itself, unmasked in place", () => {
		const payload = patterned(64);
		const frame = encode({ opcode: 2, payload, mask: MASK });
		const pieces: ArrayBuffer[] = [];
		const handler = {
			...new FrameRecorder(),
			onFrameStart() {},
			onFrameEnd() {},
			onControl() {},
			onProtocolError() {},
			onData(piece: ArrayBuffer) {
				pieces.push(piece);
			},
		};
		const parser = new FrameParser(handler, { role: "server" });
		parser.feed(chunk(frame, 0, 6));
		const body = chunk(frame, 6);
		parser.feed(body);
		expect(pieces[0]).toBe(body);
		expect(hex(body)).toBe(hex(payload));
	});
});

describe("FrameParser: header rules", () => {
	const error = (events: unknown[]) => events.filter(e => typeof e === "object" && e !== null && "error" in e);

	it("rejects RSV bits unless allowed", () => {
		for (const rsv of [0x40, 0x20, 0x10, 0x70]) {
			const frame = encode({ opcode: 1, rsv, payload: "x", mask: MASK });
			expect(error(parse(frame, "server").events)).toEqual([{ error: 1002, reason: "reserved bits set" }]);
		}
		const rsv1 = encode({ opcode: 1, rsv: 0x40, payload: "x", mask: MASK });
		expect(parse(rsv1, "server", [], 0x40).events[0]).toEqual({ start: 1, fin: true, length: 1, rsv: 0x40 });
		expect(error(parse(encode({ opcode: 1, rsv: 0x20, payload: "x", mask: MASK }), "server", [], 0x40).events)).toHaveLength(1);
	});

	it("rejects reserved opcodes 3-7 and 0xB-0xF", () => {
		for (const opcode of [3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf]) {
			const events = parse(encode({ opcode, payload: "x", mask: MASK }), "server").events;
			expect(events).toEqual([{ error: 1002, reason: `reserved opcode ${opcode}` }]);
		}
	});

	it("rejects fragmented control frames and control payloads over 125 bytes", () => {
		for (const opcode of [8, 9, 10]) {
			expect(parse(encode({ opcode, fin: false, payload: "", mask: MASK }), "server").events).toEqual([{ error: 1002, reason: "fragmented control frame" }]);
			expect(parse(encode({ opcode, payload: patterned(126), mask: MASK }), "server").events).toEqual([
				{ error: 1002, reason: "control frame payload over 125 bytes" },
			]);
			expect(parse(encode({ opcode, payload: patterned(125), mask: MASK }), "server").events).toEqual([{ control: opcode, payload: hex(patterned(125)) }]);
		}
	});

	it("enforces masking by role", () => {
		expect(parse(encode({ opcode: 1, payload: "x" }), "server").events).toEqual([{ error: 1002, reason: "unmasked frame from client" }]);
		expect(parse(encode({ opcode: 1, payload: "x", mask: MASK }), "client").events).toEqual([{ error: 1002, reason: "masked frame from server" }]);
	});

	it("rejects a 64-bit length with the top bit set (1002) or beyond 2^53 - 1 (1009)", () => {
		const top = encode({ opcode: 2, payload: "abc", mask: MASK, lengthBits: 64, high: 0x80000000 });
		expect(parse(top, "server").events).toEqual([{ error: 1002, reason: "64-bit payload length with top bit set" }]);
		const huge = encode({ opcode: 2, payload: "abc", mask: MASK, lengthBits: 64, high: 0x00200000 });
		expect(parse(huge, "server").events).toEqual([{ error: 1009, reason: "payload length over 2^53 - 1" }]);
	});

	it("reports an error once and ignores all later input", () => {
		const recorder = new FrameRecorder();
		const parser = new FrameParser(recorder, { role: "server" });
		parser.feed(chunk(concat(encode({ opcode: 1, payload: "ok", mask: MASK }), encode({ opcode: 3, mask: MASK }))));
		parser.feed(chunk(encode({ opcode: 1, payload: "late", mask: MASK })));
		expect(recorder.events).toEqual([{ start: 1, fin: true, length: 2, rsv: 0 }, { data: "6f6b" }, { error: 1002, reason: "reserved opcode 3" }]);
		expect(parser.stopped).toBe(true);
	});

	it("stops when a handler calls stop()", () => {
		const recorder = new FrameRecorder();
		const parser = new FrameParser(
			{
				onFrameStart: (...a) => recorder.onFrameStart(...a),
				onData: p => recorder.onData(p),
				onFrameEnd: () => recorder.onFrameEnd(),
				onControl: (o, p) => {
					recorder.onControl(o, p);
					parser.stop();
				},
				onProtocolError: (c, r) => recorder.onProtocolError(c, r),
			},
			{ role: "server" },
		);
		parser.feed(chunk(concat(encode({ opcode: 8, mask: MASK }), encode({ opcode: 1, payload: "after", mask: MASK }))));
		expect(recorder.events).toEqual([{ control: 8, payload: "" }]);
	});

	it("tells whether it is between frames", () => {
		const parser = new FrameParser(new FrameRecorder(), { role: "server" });
		const frame = encode({ opcode: 1, payload: "abc", mask: MASK });
		expect(parser.idle).toBe(true);
		parser.feed(chunk(frame, 0, 3));
		expect(parser.idle).toBe(false);
		parser.feed(chunk(frame, 3));
		expect(parser.idle).toBe(true);
	});
});

describe("FrameParser: pieces as ranges (onDataRange)", () => {
	/** FrameRecorder taking ranges of the fed chunk; onData must not be called when onDataRange exists. */
	class RangeRecorder extends FrameRecorder {
		whole = 0;
		override onData(): void {
			throw new Error("onData called although onDataRange exists");
		}
		onDataRange(chunk: ArrayBuffer, start: number, end: number): void {
			if (!(end > start) || start < 0 || end > chunk.byteLength) throw new Error("bad range");
			if (start === 0 && end === chunk.byteLength) this.whole++;
			super.onData(chunk.slice(start, end));
		}
	}

	it("gives the same events for every split, unmasking in place", () => {
		for (let i = 0; i <= stream.length; i++) {
			const recorder = new RangeRecorder();
			const parser = new FrameParser(recorder, { role: "server" });
			feedSplit(c => parser.feed(c), stream, [i]);
			expect(recorder.events, `split at ${i}`).toEqual(expected);
		}
	});

	it("unmasks a payload that shares its read with a header in the chunk itself (no copy)", () => {
		const payload = patterned(100);
		const data = encode({ opcode: 2, payload, mask: MASK });
		const fed = chunk(data);
		let seen: { chunk: ArrayBuffer; start: number; end: number } | undefined;
		const parser = new FrameParser(
			{
				onFrameStart() {},
				onFrameEnd() {},
				onControl() {},
				onProtocolError() {},
				onData() {
					throw new Error("not expected");
				},
				onDataRange(c: ArrayBuffer, start: number, end: number) {
					seen = { chunk: c, start, end };
				},
			},
			{ role: "server" },
		);
		parser.feed(fed);
		expect(seen?.chunk).toBe(fed);
		expect(seen?.start).toBe(data.length - 100);
		expect(hex(new Uint8Array(fed, seen!.start, 100))).toBe(hex(payload));
	});
});
