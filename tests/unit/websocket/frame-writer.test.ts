import { describe, expect, it } from "vitest";
import { FrameParser } from "websocket/frame-parser";
import { closePayload, FrameWriter, smallPayload } from "websocket/frame-writer";
import { MessageReader } from "websocket/message-reader";
import { FrameRecorder, hex, MessageRecorder } from "./helpers.js";

const sizes = [0, 1, 125, 126, 65535, 65536];
const roles = [
	["client", "server"],
	["server", "client"],
] as const;

function patterned(length: number): Uint8Array {
	const out = new Uint8Array(length);
	for (let i = 0; i < length; i++) out[i] = (i * 13 + 5) & 0xff;
	return out;
}

/** Parse frames written by `writerRole` with a parser of the other role. */
function parseFrames(parserRole: "server" | "client", ...frames: ArrayBuffer[]): FrameRecorder {
	const recorder = new FrameRecorder();
	const parser = new FrameParser(recorder, { role: parserRole });
	for (const frame of frames) parser.feed(frame.slice(0));
	return recorder;
}

describe("FrameWriter round trips through FrameParser", () => {
	for (const [writerRole, parserRole] of roles) {
		for (const size of sizes) {
			it(`${writerRole} data frames of ${size} bytes`, () => {
				const w = new FrameWriter({ role: writerRole });
				const payload = patterned(size);
				for (const [frame, opcode, fin] of [
					[w.binary(payload), 2, true],
					[w.binary(payload.buffer as ArrayBuffer, false), 2, false],
					[w.continuation(payload, false), 0, false],
					[w.continuation(payload), 0, true],
				] as const) {
					const headerLength = (size < 126 ? 2 : size < 65536 ? 4 : 10) + (writerRole === "client" ? 4 : 0);
					expect(frame.byteLength).toBe(headerLength + size);
					const events = parseFrames(parserRole, frame).events;
					expect(events[0]).toEqual({ start: opcode, fin, length: size, rsv: 0 });
					expect((events[1] as { data: string }).data === hex(payload)).toBe(true);
				}
			});
		}

		it(`${writerRole} text frames, including non-ASCII`, () => {
			const w = new FrameWriter({ role: writerRole });
			for (const s of ["", "hello", "κόσμε €𝄞", "x".repeat(70000)]) {
				const r = new MessageRecorder();
				new MessageReader(r, { role: parserRole, maxMessage: 1 << 20 }).feed(w.text(s));
				expect(r.events).toEqual([{ message: 1, data: hex(new TextEncoder().encode(s)) }]);
			}
		});

		for (const size of [0, 1, 125]) {
			it(`${writerRole} ping/pong/close of ${size} bytes`, () => {
				const w = new FrameWriter({ role: writerRole });
				const payload = patterned(size);
				expect(parseFrames(parserRole, w.ping(payload)).events).toEqual([{ control: 9, payload: hex(payload) }]);
				expect(parseFrames(parserRole, w.pong(payload)).events).toEqual([{ control: 10, payload: hex(payload) }]);
				const r = new MessageRecorder();
				const reason = "r".repeat(Math.max(0, size - 2));
				new MessageReader(r, { role: parserRole }).feed(size ? w.close(1000, reason) : w.close());
				expect(r.events).toEqual([{ close: size ? 1000 : undefined, reason }]);
			});
		}

		it(`${writerRole} header() + payload() streams a frame in pieces`, () => {
			const w = new FrameWriter({ role: writerRole });
			const payload = patterned(70000);
			const parts: ArrayBuffer[] = [w.header(2, true, payload.length)];
			const cuts = [0, 1, 3, 4, 9, 1000, 1001, 65536, 70000];
			for (let i = 0; i + 1 < cuts.length; i++) {
				const piece = payload.subarray(cuts[i], cuts[i + 1]);
				const copy = piece.slice();
				parts.push(w.payload(piece));
				expect(hex(piece)).toBe(hex(copy)); // caller's data untouched
			}
			expect(w.pending).toBe(0);
			const events = parseFrames(parserRole, ...parts).events;
			expect(events[0]).toEqual({ start: 2, fin: true, length: 70000, rsv: 0 });
			expect((events[1] as { data: string }).data === hex(payload)).toBe(true);
		});
	}

	it("server payload() passes whole ArrayBuffers through without copying", () => {
		const w = new FrameWriter({ role: "server" });
		const data = patterned(10).buffer as ArrayBuffer;
		w.header(2, true, 10);
		expect(w.payload(data)).toBe(data);
		expect(() => w.payload(new Uint8Array(1))).toThrow(RangeError);
	});
});

describe("FrameWriter header bits and masking", () => {
	it("sets FIN and opcode, and never the RSV bits", () => {
		const w = new FrameWriter({ role: "server" });
		expect(new Uint8Array(w.text("a"))[0]).toBe(0x81);
		expect(new Uint8Array(w.text("a", false))[0]).toBe(0x01);
		expect(new Uint8Array(w.binary(new Uint8Array(0)))[0]).toBe(0x82);
		expect(new Uint8Array(w.continuation("", true))[0]).toBe(0x80);
		expect(new Uint8Array(w.ping())[0]).toBe(0x89);
		expect(new Uint8Array(w.pong())[0]).toBe(0x8a);
		expect(new Uint8Array(w.close())[0]).toBe(0x88);
		expect(hex(w.ping())).toBe("8900");
	});

	it("uses the minimal length encoding", () => {
		const w = new FrameWriter({ role: "server" });
		expect(hex(w.header(2, true, 125))).toBe("827d");
		w.payload(new Uint8Array(125));
		expect(hex(w.header(2, true, 126))).toBe("827e007e");
		w.payload(new Uint8Array(126));
		expect(hex(w.header(2, true, 65535))).toBe("827effff");
		w.payload(new Uint8Array(65535));
		expect(hex(w.header(2, true, 65536))).toBe("827f0000000000010000");
		w.payload(new Uint8Array(65536));
		expect(hex(w.header(2, true, 2 ** 40 + 3))).toBe("827f0000010000000003");
	});

	it("masks client frames with a fresh key from the random source", () => {
		let n = 0;
		const draws = [0x1234 / 65536, 0xabcd / 65536, 0.5, 0.25];
		const w = new FrameWriter({ role: "client", random: () => draws[n++ % draws.length] });
		const a = new Uint8Array(w.text("abcd"));
		expect(hex(a.subarray(0, 6))).toBe("8184" + "1234abcd");
		expect(a[6]).toBe(0x61 ^ 0x12);
		expect(a[9]).toBe(0x64 ^ 0xcd);
		const b = new Uint8Array(w.text("abcd"));
		expect(hex(b.subarray(2, 6))).toBe("80004000");
		// Default Math.random: keys differ between frames (with overwhelming probability).
		const d = new FrameWriter({ role: "client" });
		const keys = new Set(Array.from({ length: 20 }, () => hex(new Uint8Array(d.ping()).subarray(2, 6))));
		expect(keys.size).toBeGreaterThan(15);
	});

	it("refuses invalid frames", () => {
		const w = new FrameWriter({ role: "server" });
		expect(() => w.ping(new Uint8Array(126))).toThrow(RangeError);
		expect(() => w.frame(9, "", false)).toThrow(RangeError);
		expect(() => w.frame(3, "")).toThrow(RangeError);
		expect(() => w.frame(0xb, "")).toThrow(RangeError);
		expect(() => w.header(2, true, -1)).toThrow(RangeError);
		w.header(2, true, 2);
		expect(() => w.header(2, true, 2)).toThrow();
	});
});

describe("FrameWriter.scratchFrame: a small frame in the writer's own buffer", () => {
	it("builds the bytes frame() builds (server role), for every header form it takes", () => {
		const w = new FrameWriter({ role: "server" });
		for (const size of [0, 1, 125, 126, 1000, smallPayload])
			for (const [opcode, fin] of [
				[1, true],
				[2, false],
				[0, true],
			] as const) {
				const data = patterned(size);
				const frame = w.scratchFrame(opcode, data, size, fin);
				expect(hex(frame), `${size} ${opcode} ${fin}`).toBe(hex(w.frame(opcode, data, fin)));
				expect(w.scratchLength).toBe(frame.length);
			}
	});

	it("masks in the client role with a fresh key each frame (5.3), as the server's parser reads it", () => {
		const w = new FrameWriter({ role: "client" });
		const data = patterned(300);
		const a = w.scratchFrame(2, data, 300, true).slice();
		const b = w.scratchFrame(2, data, 300, true).slice();
		expect(hex(a.subarray(4, 8))).not.toBe(hex(b.subarray(4, 8)));
		const recorder = new MessageRecorder();
		const reader = new MessageReader(recorder, { role: "server" });
		reader.feed(a.buffer);
		reader.feed(b.buffer);
		expect(recorder.events).toEqual([
			{ message: 2, data: hex(data) },
			{ message: 2, data: hex(data) },
		]);
		expect(hex(data)).toBe(hex(patterned(300))); // the caller's bytes are not masked in place
	});

	it("reuses its buffer (and the view, for a frame as long as the one before); refuses what it does not build", () => {
		const w = new FrameWriter({ role: "server" });
		const first = w.scratchFrame(2, patterned(100), 100, true);
		expect(w.scratchFrame(2, patterned(100), 100, true)).toBe(first);
		const shorter = w.scratchFrame(2, patterned(10), 10, true);
		expect(shorter.buffer).toBe(first.buffer);
		expect(shorter.length).toBe(12);
		expect(() => w.scratchFrame(2, patterned(smallPayload + 1), smallPayload + 1, true)).toThrow(RangeError);
		for (const opcode of [3, 8, 9, -1, 1.5]) expect(() => w.scratchFrame(opcode, patterned(1), 1, true), `opcode ${opcode}`).toThrow(/invalid opcode/);
	});

	it("in the server role, grows its buffer once, to its largest frame, whatever sizes follow", () => {
		// Shared by every connection of a server: a buffer that grew with each larger piece sent would leave the
		// heaps a few bytes apart after each burst of traffic (the churn suite's exact figures).
		const w = new FrameWriter({ role: "server" });
		expect(w.scratchFrame(2, patterned(123), 123, true).buffer.byteLength).toBe(127);
		const buffer = w.scratchFrame(2, patterned(200), 200, true).buffer;
		expect(buffer.byteLength).toBe(4 + smallPayload);
		for (const size of [smallPayload, 126, 1000, 0]) expect(w.scratchFrame(2, patterned(size), size, true).buffer, `${size} bytes`).toBe(buffer);
	});
});

describe("closePayload", () => {
	it("is empty without a code, code then UTF-8 reason otherwise", () => {
		expect(closePayload().byteLength).toBe(0);
		expect(hex(closePayload(1000))).toBe("03e8");
		expect(hex(closePayload(4001, "é"))).toBe("0fa1c3a9");
	});

	it("truncates the reason to 123 bytes at a code point boundary", () => {
		const ascii = closePayload(1000, "a".repeat(200));
		expect(ascii.byteLength).toBe(125);
		const euro = new Uint8Array(closePayload(1001, "a" + "€".repeat(60)));
		expect(euro.byteLength).toBe(2 + 1 + 3 * 40);
		expect(new TextDecoder("utf-8", { fatal: true }).decode(euro.subarray(2))).toBe("a" + "€".repeat(40));
		const astral = new Uint8Array(closePayload(1000, "𝄞".repeat(40)));
		expect(astral.byteLength).toBe(2 + 120);
	});

	it("refuses codes that may not be sent, and a reason without a code", () => {
		for (const code of [999, 1004, 1005, 1006, 1015, 2000, 5000]) expect(() => closePayload(code), String(code)).toThrow(RangeError);
		expect(() => closePayload(undefined, "why")).toThrow(RangeError);
	});
});
