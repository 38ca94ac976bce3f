// bench xs's arithmetic and arguments (host-harness/bench/xs.ts), on
// records shaped as the XS app reports them; the run itself is in
// tests/device/bench-xs.test.ts.
import { describe, expect, it } from "vitest";
import { type BenchXsResult, deriveRows, parseBenchXsArgs, renderBenchXs, summarize, type XsRecord } from "../../host-harness/bench/xs.js";

const records: XsRecord[] = [
	{ section: "env", group: "", impl: "" },
	{ section: "receive", group: "64 binary, one frame", impl: "read", bytes: 64, n: 1000, ns: 1e6, slots: 3, chunkBytes: 88 },
	{ section: "receive", group: "64 binary, one frame", impl: "ours", bytes: 64, n: 1000, ns: 4e6, slots: 11, chunkBytes: 88 },
	{ section: "receive", group: "64 binary, one frame", impl: "ours via socket", bytes: 64, n: 1000, ns: 5e6, slots: 15, chunkBytes: 88 },
	{ section: "receive", group: "64 binary, one frame", impl: "moddable client", bytes: 64, n: 1000, ns: 1e7, slots: 38, chunkBytes: 312 },
	{ section: "receive", group: "64 binary, one frame", impl: "ceiling", bytes: 64, n: 1000, ns: 2e6, slots: 7, chunkBytes: 88 },
	{ section: "ws receive", group: "64 binary", impl: "ours", bytes: 64, n: 1000, ns: 4e6, slots: 20, chunkBytes: 88 },
	{ section: "ws receive", group: "64 binary", impl: "moddable client", bytes: 64, n: 1000, ns: 2e6, slots: 30, chunkBytes: 200 },
	{ section: "validate", group: "1024 ascii", impl: "ours", bytes: 1024, n: 100, ns: 1e6, slots: 4, chunkBytes: 0 },
	{ section: "validate", group: "1024 ascii", impl: "ceiling", bytes: 1024, n: 100, ns: 1e5, slots: 3, chunkBytes: 1040 },
	{ section: "memory", group: "idle", impl: "ours", count: 8, slots: 80, chunkBytes: 1520 },
];

describe("bench xs figures", () => {
	const rows = deriveRows(records);

	it("derives rates, board bytes and the fraction of the ceiling", () => {
		const ours = rows.find(r => r.impl === "ours" && r.section === "receive")!;
		expect(ours.messagesPerSecond).toBeCloseTo(250_000, 6);
		expect(ours.megabytesPerSecond).toBeCloseTo(16, 6);
		expect(ours.nsPerMessage).toBeCloseTo(4000, 6);
		expect(ours.boardSlotBytes).toBe(176);
		expect(ours.ofCeiling).toBeCloseTo(0.5, 6);
		expect(rows.some(r => r.section === "env")).toBe(false);
		expect(rows.find(r => r.section === "memory")!.boardSlotBytes).toBe(1280);
	});

	it("judges the targets from the rows", () => {
		const summary = summarize(rows);
		const get = (figure: string) => summary.find(s => s.figure.startsWith(figure))!;
		expect(get("64 B: chunk bytes/msg beyond the read")).toMatchObject({ value: 0, met: true });
		expect(get("1024 B ASCII")).toMatchObject({ value: 0.1, met: false });
		expect(get("64 binary, one frame: reader via socket")).toMatchObject({ value: 2, met: true });
		expect(summary[0]).toMatchObject({ figure: "ws receive 64 B binary: ours ÷ Moddable client", value: 0.5, met: false });
		expect(get("ws receive 64 B text").value).toBeUndefined();
		expect(get("ws send 64 B").value).toBeUndefined();
		expect(get("1024 B: chunk bytes/msg beyond the read").value).toBeUndefined();
	});

	it("renders tables with every section present", () => {
		const result: BenchXsResult = {
			command: "x",
			machine: { cpu: "cpu", mhz: 1000, cores: 2 },
			xs: { slotSize: 32, budgetMs: 300, rounds: 3, count: 0, tcpChunk: 1536 },
			rows,
			summary: summarize(rows),
			notes: ["a note"],
		};
		const text = renderBenchXs(result);
		expect(text).toMatch(/WebSocket receive/);
		expect(text).toMatch(/UTF-8 validation alone/);
		expect(text).toMatch(/Memory held/);
		expect(text).toMatch(/\| 64 binary, one frame +\| +ours \| +250,000 \|/);
		expect(text).toMatch(/- a note/);
	});
});

describe("bench xs arguments", () => {
	it("takes --ms, --rounds, --count, --only and --json", () => {
		expect(parseBenchXsArgs(["xs"])).toEqual({ ms: 300, rounds: 3, count: 0, only: "", json: false, baseline: "" });
		expect(parseBenchXsArgs(["xs", "--ms", "50", "--rounds", "5", "--count", "3", "--only", "receive_64_", "--json", "--baseline", "51e55cb"])).toEqual({
			ms: 50,
			rounds: 5,
			count: 3,
			only: "receive_64_",
			json: true,
			baseline: "51e55cb",
		});
		expect(parseBenchXsArgs(["xs", "--help"])).toBe("help");
	});

	it("refuses what mcconfig could not pass on", () => {
		expect(() => parseBenchXsArgs(["xs", "--count", "0"])).toThrow(/positive whole number/);
		expect(() => parseBenchXsArgs(["xs", "--only", "a b"])).toThrow(/one word/);
		expect(() => parseBenchXsArgs(["xs", "--ms"])).toThrow(/needs a value/);
		expect(() => parseBenchXsArgs(["xs", "--fast"])).toThrow(/unknown argument/);
	});
});
