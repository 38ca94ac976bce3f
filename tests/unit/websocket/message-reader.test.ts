import { describe, expect, it } from "vitest";
import { MessageReader } from "websocket/message-reader";
import { chunk, concat, encode, feedSplit, hex, MASK, MessageRecorder, RangeMessageRecorder, type RawFrame } from "./helpers.js";

type Options = { streaming?: boolean; maxMessage?: number; role?: "server" | "client" };

/** Frames as a client sends them (masked), unless the role is client. */
function read(frames: RawFrame[], options: Options = {}, splits: number[] = []): MessageRecorder {
	const role = options.role ?? "server";
	const data = concat(...frames.map(f => encode(role === "server" && f.mask === undefined ? { ...f, mask: MASK } : f)));
	const recorder = new MessageRecorder();
	const reader = new MessageReader(recorder, { role, streaming: options.streaming, maxMessage: options.maxMessage });
	feedSplit(c => reader.feed(c), data, splits);
	return recorder;
}

const text = (s: string) => hex(new TextEncoder().encode(s));
const u8 = (...b: number[]) => Uint8Array.from(b);
const closeBody = (code: number, reason: Uint8Array | string = "") =>
	concat(u8(code >> 8, code & 0xff), typeof reason === "string" ? new TextEncoder().encode(reason) : reason);

describe("MessageReader: delivery", () => {
	it("assembles whole messages, with control frames between fragments", () => {
		const r = read([
			{ opcode: 1, fin: false, payload: "Hel" },
			{ opcode: 9, payload: "p1" },
			{ opcode: 0, fin: false, payload: "" },
			{ opcode: 10, payload: "p2" },
			{ opcode: 0, payload: "lo" },
			{ opcode: 2, payload: u8(1, 2, 3) },
			{ opcode: 2, payload: "" },
			{ opcode: 8, payload: closeBody(1000, "bye") },
		]);
		expect(r.events).toEqual([
			{ ping: text("p1") },
			{ pong: text("p2") },
			{ message: 1, data: text("Hello") },
			{ message: 2, data: "010203" },
			{ message: 2, data: "" },
			{ close: 1000, reason: "bye" },
		]);
	});

	it("streams messages piece by piece", () => {
		const frames: RawFrame[] = [
			{ opcode: 2, payload: u8(1, 2, 3, 4) },
			{ opcode: 1, fin: false, payload: "ab" },
			{ opcode: 9, payload: "" },
			{ opcode: 0, fin: true, payload: "cd" },
			{ opcode: 1, fin: false, payload: "x" },
			{ opcode: 0, fin: true, payload: "" },
		];
		const want = [
			{ start: 2, length: 4 },
			{ last: true },
			{ end: "01020304" },
			{ start: 1, length: undefined },
			{ ping: "" },
			{ last: true },
			{ end: text("abcd") },
			{ start: 1, length: undefined },
			{ end: text("x") },
		];
		expect(read(frames, { streaming: true }).events).toEqual(want);
		const all = concat(...frames.map(f => encode({ ...f, mask: MASK })));
		for (let i = 1; i < all.length; i++) expect(read(frames, { streaming: true }, [i]).events).toEqual(want);
		const splits = Array.from({ length: all.length }, (_, i) => i);
		expect(read(frames, { streaming: true }, splits).events).toEqual(want);
	});

	it("reports ping, pong and close payloads", () => {
		expect(read([{ opcode: 9, payload: "hi" }, { opcode: 10, payload: u8(0, 255) }, { opcode: 8 }]).events).toEqual([
			{ ping: text("hi") },
			{ pong: "00ff" },
			{ close: undefined, reason: "" },
		]);
	});

	it("accepts every valid close code and decodes the UTF-8 reason", () => {
		for (const code of [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 4999])
			expect(read([{ opcode: 8, payload: closeBody(code, "€") }]).events).toEqual([{ close: code, reason: "€" }]);
	});

	it("ignores input after a Close frame", () => {
		const r = read([{ opcode: 8, payload: closeBody(1000) }, { opcode: 1, payload: "late" }, { opcode: 3 }]);
		expect(r.events).toEqual([{ close: 1000, reason: "" }]);
	});

	it("reads unmasked server frames in the client role", () => {
		expect(read([{ opcode: 1, payload: "srv" }], { role: "client" }).events).toEqual([{ message: 1, data: text("srv") }]);
	});
});

describe("MessageReader: protocol errors and their close codes", () => {
	const cases: [string, RawFrame[], number, Options?][] = [
		["RSV1 without extension", [{ opcode: 1, rsv: 0x40, payload: "x" }], 1002],
		["RSV2", [{ opcode: 2, rsv: 0x20 }], 1002],
		["RSV3 on a ping", [{ opcode: 9, rsv: 0x10 }], 1002],
		["opcode 3", [{ opcode: 3 }], 1002],
		["opcode 7", [{ opcode: 7 }], 1002],
		["opcode 0xB", [{ opcode: 0xb }], 1002],
		["opcode 0xF", [{ opcode: 0xf }], 1002],
		["fragmented ping", [{ opcode: 9, fin: false }], 1002],
		["fragmented close", [{ opcode: 8, fin: false }], 1002],
		["ping of 126 bytes", [{ opcode: 9, payload: new Uint8Array(126) }], 1002],
		["close of 126 bytes (16-bit length form)", [{ opcode: 8, payload: new Uint8Array(126) }], 1002],
		["continuation without a message", [{ opcode: 0, payload: "x" }], 1002],
		[
			"continuation after a finished message",
			[
				{ opcode: 1, payload: "a" },
				{ opcode: 0, payload: "b" },
			],
			1002,
		],
		[
			"text inside a fragmented message",
			[
				{ opcode: 1, fin: false, payload: "a" },
				{ opcode: 1, payload: "b" },
			],
			1002,
		],
		["binary inside a fragmented message", [{ opcode: 2, fin: false }, { opcode: 9 }, { opcode: 2 }], 1002],
		["unmasked frame to a server", [{ opcode: 1, payload: "x", mask: false }], 1002],
		["masked frame to a client", [{ opcode: 1, payload: "x", mask: MASK }], 1002, { role: "client" }],
		["64-bit length with top bit", [{ opcode: 2, payload: "x", lengthBits: 64, high: 0x80000000 }], 1002],
		["invalid UTF-8 text", [{ opcode: 1, payload: u8(0x41, 0xc0, 0x80) }], 1007],
		["surrogate in text", [{ opcode: 1, payload: u8(0xed, 0xa0, 0x80) }], 1007],
		[
			"invalid UTF-8 across fragments",
			[
				{ opcode: 1, fin: false, payload: u8(0xf4) },
				{ opcode: 0, payload: u8(0x90, 0x80, 0x80) },
			],
			1007,
		],
		[
			"text ending inside a code point",
			[
				{ opcode: 1, fin: false, payload: u8(0xe2, 0x82) },
				{ opcode: 0, payload: "" },
			],
			1007,
		],
		["text ending inside a code point (single frame)", [{ opcode: 1, payload: u8(0x41, 0xf0, 0x9d) }], 1007],
		["frame over maxMessage", [{ opcode: 2, payload: new Uint8Array(101) }], 1009, { maxMessage: 100 }],
		[
			"fragments over maxMessage",
			[
				{ opcode: 2, fin: false, payload: new Uint8Array(60) },
				{ opcode: 0, payload: new Uint8Array(41) },
			],
			1009,
			{ maxMessage: 100 },
		],
		[
			"streamed fragments over maxMessage",
			[
				{ opcode: 1, fin: false, payload: "a".repeat(60) },
				{ opcode: 0, payload: "b".repeat(41) },
			],
			1009,
			{ maxMessage: 100, streaming: true },
		],
		["close payload of 1 byte", [{ opcode: 8, payload: u8(3) }], 1002],
		["close reason not UTF-8", [{ opcode: 8, payload: closeBody(1000, u8(0xff)) }], 1007],
		["close reason with a truncated code point", [{ opcode: 8, payload: closeBody(1000, u8(0xe2, 0x82)) }], 1007],
	];
	for (const code of [0, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 65535])
		cases.push([`close code ${code}`, [{ opcode: 8, payload: closeBody(code) }], 1002]);

	for (const [name, frames, code, options] of cases) {
		it(`${name} → ${code}`, () => {
			for (const streaming of [false, true]) {
				const r = read(frames, { ...options, streaming: options?.streaming ?? streaming });
				expect(r.errors).toEqual([code]);
				expect(r.events.at(-1)).toHaveProperty("error", code);
			}
		});
	}

	it("accepts exactly maxMessage bytes, fragmented or not", () => {
		expect(read([{ opcode: 2, payload: new Uint8Array(100) }], { maxMessage: 100 }).errors).toEqual([]);
		expect(
			read(
				[
					{ opcode: 2, fin: false, payload: new Uint8Array(50) },
					{ opcode: 0, payload: new Uint8Array(50) },
				],
				{ maxMessage: 100, streaming: true },
			).errors,
		).toEqual([]);
	});

	it("judges size from the declared length, before any payload arrives", () => {
		const recorder = new MessageRecorder();
		const reader = new MessageReader(recorder, { role: "server", maxMessage: 1 << 20 });
		const header = encode({ opcode: 2, payload: new Uint8Array(0), mask: MASK, lengthBits: 64 });
		header[9] = 0;
		header[8] = 0;
		header[7] = 0x20; // declare 2 MiB; send no payload
		reader.feed(chunk(header));
		expect(recorder.errors).toEqual([1009]);
		expect(reader.stopped).toBe(true);
	});

	it("detects invalid UTF-8 at the first bad byte, before the frame is complete", () => {
		const recorder = new MessageRecorder();
		const reader = new MessageReader(recorder, { role: "server", streaming: true });
		const kosme = new TextEncoder().encode("κόσμε");
		const payload = concat(kosme, u8(0xf4, 0x90, 0x80, 0x80), new TextEncoder().encode("-edited"));
		const frame = encode({ opcode: 1, payload, mask: MASK });
		const headerLength = 6;
		const badAt = headerLength + kosme.length + 1; // the 0x90
		for (let i = 0; i < badAt; i++) reader.feed(chunk(frame, i, i + 1));
		expect(recorder.errors).toEqual([]);
		reader.feed(chunk(frame, badAt, badAt + 1));
		expect(recorder.errors).toEqual([1007]);
	});

	it("reports one error and then ignores input", () => {
		const r = read([{ opcode: 0, payload: "x" }, { opcode: 1, payload: "ok" }, { opcode: 8 }]);
		expect(r.events).toEqual([{ error: 1002, reason: "continuation frame without a message" }]);
	});
});

describe("MessageReader: ranges (onMessageRange) and one-slice whole messages", () => {
	const frames: RawFrame[] = [
		{ opcode: 2, payload: u8(1, 2, 3, 4) },
		{ opcode: 1, fin: false, payload: "h€l" },
		{ opcode: 9, payload: "" },
		{ opcode: 0, fin: true, payload: "l😀o" },
		{ opcode: 1, payload: "x".repeat(300) },
	];
	const all = concat(...frames.map(f => encode({ ...f, mask: MASK })));

	it("gives the same events as onMessageData, at every split, with no copies", () => {
		const want = read(frames, { streaming: true }).events;
		for (let i = 0; i <= all.length; i++) {
			const recorder = new RangeMessageRecorder();
			const reader = new MessageReader(recorder, { role: "server", streaming: true });
			feedSplit(c => reader.feed(c), all, [i]);
			expect(recorder.events, `split at ${i}`).toEqual(want);
		}
	});

	it("detects invalid UTF-8 split across reads and across fragments with ranges", () => {
		const bad = [
			{ opcode: 1, fin: false, payload: u8(0x61, 0xe2, 0x82) },
			{ opcode: 0, payload: u8(0x41) },
		];
		const data = concat(...bad.map(f => encode({ ...f, mask: MASK })));
		for (let i = 0; i <= data.length; i++) {
			const recorder = new RangeMessageRecorder();
			const reader = new MessageReader(recorder, { role: "server", streaming: true });
			feedSplit(c => reader.feed(c), data, [i]);
			expect(recorder.errors, `split at ${i}`).toEqual([1007]);
		}
	});

	it("whole mode: a one-frame message in one read is one slice of exactly its payload, at every split", () => {
		const payload = Uint8Array.from({ length: 200 }, (_, i) => i);
		const data = concat(encode({ opcode: 2, payload, mask: MASK }), encode({ opcode: 2, payload: u8(9), mask: MASK }));
		for (let i = 0; i <= data.length; i++) {
			const got: ArrayBuffer[] = [];
			const reader = new MessageReader({ onMessage: (_type, d) => got.push(d) }, { role: "server" });
			feedSplit(c => reader.feed(c), data, [i]);
			expect(
				got.map(d => d.byteLength),
				`split at ${i}`,
			).toEqual([200, 1]);
			expect(hex(got[0])).toBe(hex(payload));
			expect(hex(got[1])).toBe("09");
		}
	});
});

describe("MessageReader: pull (whole mode, the rest of a message read straight into it)", () => {
	/** A socket's bytes as the connection sees them: readable, read(view) of exactly view.length. */
	class Source {
		at = 0;
		reads = 0;
		constructor(readonly data: Uint8Array) {}
		get readable(): number {
			return this.data.length - this.at;
		}
		read(view: Uint8Array): number {
			expect(view.length).toBeGreaterThan(0);
			expect(view.length).toBeLessThanOrEqual(this.readable); // as lwip: never more than it holds
			view.set(this.data.subarray(this.at, this.at + view.length));
			this.at += view.length;
			this.reads++;
			return view.length;
		}
		take(count: number): ArrayBuffer {
			const chunk = this.data.slice(this.at, this.at + count).buffer;
			this.at += count;
			return chunk;
		}
	}

	/** The connection's loop: pull while the reader takes bytes that way, else a read of at most readSize fed whole. */
	function readPulling(frames: RawFrame[], options: Options & { readSize: number }): { recorder: MessageRecorder; pulled: number } {
		const data = concat(...frames.map(f => encode(f.mask === undefined ? { ...f, mask: MASK } : f)));
		const recorder = new MessageRecorder();
		const reader = new MessageReader(recorder, { role: "server", streaming: options.streaming, maxMessage: options.maxMessage });
		const source = new Source(data);
		let pulled = 0;
		while (source.readable && !reader.stopped) {
			const count = reader.pull(source);
			if (count) {
				pulled += count;
				continue;
			}
			reader.feed(source.take(Math.min(source.readable, options.readSize)));
		}
		return { recorder, pulled };
	}

	const big = Uint8Array.from({ length: 3000 }, (_, i) => (i * 7 + 3) & 0xff);
	const utf8 = new TextEncoder().encode("Grüße, €5 — 温度 😀 ok. ".repeat(40));

	it("delivers what feeding alone delivers, the message's bytes after its first read pulled into it", () => {
		const frames: RawFrame[] = [
			{ opcode: 2, payload: big },
			{ opcode: 1, fin: false, payload: utf8.subarray(0, 501) }, // (a split sequence at the fragment's end)
			{ opcode: 9, payload: "p" },
			{ opcode: 0, payload: utf8.subarray(501) },
			{ opcode: 2, payload: u8(1, 2, 3) },
			{ opcode: 8, payload: closeBody(1000) },
		];
		for (const readSize of [7, 64, 1000]) {
			const { recorder, pulled } = readPulling(frames, { readSize });
			expect(recorder.events, `readSize ${readSize}`).toEqual(read(frames).events);
			expect(pulled, `readSize ${readSize}`).toBeGreaterThan(big.length - readSize);
		}
	});

	it("finds invalid UTF-8 in pulled bytes at once (1007), and delivers nothing of the message", () => {
		const bad = utf8.slice();
		bad[700] = 0xff;
		const { recorder, pulled } = readPulling(
			[
				{ opcode: 1, payload: bad },
				{ opcode: 2, payload: u8(1) },
			],
			{ readSize: 100 },
		);
		expect(pulled).toBeGreaterThan(0);
		expect(recorder.events).toEqual([{ error: 1007, reason: "invalid UTF-8 in text message" }]);
	});

	it("takes nothing in streaming mode, nor between messages", () => {
		const { recorder, pulled } = readPulling([{ opcode: 2, payload: big }], { readSize: 100, streaming: true });
		expect(pulled).toBe(0);
		expect(recorder.events).toEqual(read([{ opcode: 2, payload: big }], { streaming: true }).events);
		const reader = new MessageReader(new MessageRecorder(), { role: "server" });
		expect(reader.pull(new Source(encode({ opcode: 2, payload: big, mask: MASK })))).toBe(0);
	});
});
