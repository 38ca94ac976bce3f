// The benchmark machinery itself (host-harness/bench), against the reference
// echo servers only (a second set of them stands in for the device), with
// small volumes. Nothing here asserts on speed: only on shapes, counts and
// arithmetic.
import * as dgram from "node:dgram";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { type BenchOptions, benchSettings, hostDeviceConfig, parseBenchArgs, runBench } from "../../host-harness/bench/command.js";
import { type ReferenceServers, startReference } from "../../host-harness/bench/reference.js";
import { renderHtml, renderMarkdown, renderTable, writeReport } from "../../host-harness/bench/report.js";
import { alternate, type BenchResult, createContext, ResultBuilder } from "../../host-harness/bench/result.js";
import { formatMs, formatSize, histogram, mbPerSecond, percentile, perSecond, ratio, summarize } from "../../host-harness/bench/stats.js";
import type { TcpSettings } from "../../host-harness/bench/tcp.js";
import type { UdpSettings } from "../../host-harness/bench/udp.js";
import type { WsSettings } from "../../host-harness/bench/ws.js";
import { freeTcpPort } from "../../host-harness/lib/ports.js";
import { connect, readBytes } from "../../host-harness/oracle/tcp-echo.js";
import { udpSender } from "../../host-harness/oracle/udp-echo.js";

describe("bench stats", () => {
	it("interpolates percentiles between ranks", () => {
		const values = Array.from({ length: 100 }, (_, i) => 100 - i); // 100..1, unsorted
		expect(percentile(values, 0)).toBe(1);
		expect(percentile(values, 100)).toBe(100);
		expect(percentile(values, 50)).toBeCloseTo(50.5, 10);
		expect(percentile(values, 99)).toBeCloseTo(99.01, 10);
		expect(percentile([1, 2, 3, 4], 50)).toBe(2.5);
		expect(percentile([7], 99)).toBe(7);
		expect(percentile([], 50)).toBeNaN();
		expect(() => percentile([1], 101)).toThrow(RangeError);
	});

	it("summarizes samples", () => {
		const s = summarize([5, 1, 4, 2, 3])!;
		expect(s).toEqual({ count: 5, min: 1, mean: 3, p50: 3, p90: 4.6, p99: expect.closeTo(4.96, 10), max: 5 });
		expect(summarize([])).toBeUndefined();
	});

	it("computes rates and the device-as-a-fraction-of-reference ratio", () => {
		expect(mbPerSecond(2_000_000, 500)).toBe(4);
		expect(perSecond(300, 1500)).toBe(200);
		expect(mbPerSecond(1, 0)).toBe(0);
		expect(ratio(50, 200, "higher")).toBe(0.25); // throughput: device/reference
		expect(ratio(4, 1, "lower")).toBe(0.25); // latency: reference/device
		expect(ratio(1, 4, "lower")).toBe(4);
		expect(ratio(undefined, 1, "higher")).toBeUndefined();
		expect(ratio(1, 0, "higher")).toBeUndefined();
		expect(ratio(0, 1, "lower")).toBeUndefined();
	});

	it("bins a histogram, linear and logarithmic, keeping every value", () => {
		const lin = histogram([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 5);
		expect(lin.edges).toEqual([0, 2, 4, 6, 8, 10]);
		expect(lin.counts).toEqual([2, 2, 2, 2, 3]);
		const log = histogram([1, 10, 100, 1000, 5000], 3, { lo: 1, hi: 1000, log: true });
		expect(log.edges.map(e => Math.round(e))).toEqual([1, 10, 100, 1000]);
		expect(log.counts).toEqual([1, 1, 3]); // 5000 is clamped into the last bin
		expect(histogram([], 4).counts).toEqual([0, 0, 0, 0]);
	});

	it("writes sizes and times for people", () => {
		expect(formatSize(64)).toBe("64 B");
		expect(formatSize(1472)).toBe("1472 B");
		expect(formatSize(65536)).toBe("64 KiB");
		expect(formatSize(1024 * 1024)).toBe("1 MiB");
		expect(formatMs(0.0852)).toBe("85.2 µs");
		expect(formatMs(1.234)).toBe("1.23 ms");
		expect(formatMs(2500)).toBe("2.50 s");
	});
});

describe("bench result and report", () => {
	function sample(): BenchResult {
		const b = new ResultBuilder("tcp", "node", { device: "dev", reference: "ref" }, { seconds: 1 });
		const thr = { key: "t", label: "throughput", unit: "MB/s", better: "higher" } as const;
		const p50 = { key: "p", label: "round trip p50", unit: "ms", better: "lower" } as const;
		b.record(thr, "device", 50);
		b.record(thr, "reference", 200);
		b.record(p50, "device", 2);
		b.record(p50, "reference", 0.5);
		b.record({ key: "l", label: "lost", unit: "datagrams" }, "device", 3);
		b.declare({ key: "m", label: "missing on one side", unit: "msg/s", better: "higher" });
		b.record({ key: "m", label: "missing on one side", unit: "msg/s", better: "higher" }, "reference", 10);
		b.size(1024, "device", 1);
		b.size(1024, "reference", 10);
		b.roundTrips("device", [2, 2.1, 1.9]);
		b.roundTrips("reference", [0.5, 0.4, 0.6]);
		b.note("a note | with a pipe");
		return b.finish();
	}

	it("computes each ratio the way its metric goes", () => {
		const result = sample();
		const by = Object.fromEntries(result.metrics.map(m => [m.key, m]));
		expect(by.t.ratio).toBe(0.25);
		expect(by.p.ratio).toBe(0.25);
		expect(by.l.ratio).toBeUndefined();
		expect(by.m.ratio).toBeUndefined();
		expect(result.metrics.map(m => m.key)).toEqual(["t", "p", "l", "m"]);
		expect(JSON.parse(JSON.stringify(result))).toEqual(result);
	});

	it("renders the table, Markdown and HTML", () => {
		const result = sample();
		const table = renderTable(result);
		expect(table).toMatch(/^metric\s+device\s+reference\s+ratio$/m);
		expect(table).toMatch(/^throughput\s+50\.0 MB\/s\s+200 MB\/s\s+0\.25×$/m);
		expect(table).toMatch(/^round trip p50\s+2\.00 ms\s+500 µs\s+0\.25×$/m);
		const md = renderMarkdown(result, name => `r.${name}.svg`);
		expect(md).toContain("| throughput | 50.0 MB/s | 200 MB/s | 0.25× |");
		expect(md).toContain("![ratios](r.ratios.svg)");
		expect(md).toContain("![round-trip](r.round-trip.svg)");
		const html = renderHtml(result);
		expect(html.match(/<svg /g)).toHaveLength(3);
		expect(html).toContain("a note | with a pipe");
		// With several rounds, the ratio shows the rounds' spread.
		const b = new ResultBuilder("ws", "node", { device: "d", reference: "r" }, {});
		const p50 = { key: "ws.p50", label: "round trip p50", unit: "ms", better: "lower" } as const;
		b.record(p50, "device", 1);
		b.record(p50, "reference", 0.5);
		b.rounds(p50, "device", [2.5, 0.5]);
		b.rounds(p50, "reference", [0.55, 0.5]);
		const spread = b.finish().metrics[0];
		expect(spread.spread![0]).toBeCloseTo(0.22, 6);
		expect(spread.spread![1]).toBe(1);
		expect(renderTable(b.finish())).toMatch(/^round trip p50 +1\.00 ms +500 µs +0\.50× \(rounds 0\.22–1\.0×\)$/m);
		// A ratio below 1.0 is a measurement, not a failure: plain, never painted red.
		expect(html).toMatch(/<td class="below">0\.25×<\/td>/);
		expect(html).not.toMatch(/#c92a2a|class="low"/);
	});
});

describe("bench command line", () => {
	it("parses protocol, target, options and config", () => {
		const o = parseBenchArgs([
			"tcp",
			"--target",
			"sim",
			"--json",
			"--report=r.html",
			"--duration",
			"2.5",
			"--clients",
			"4",
			"--bytes",
			"16m",
			"tcpChunk=512",
			"--config",
			"udpPort=9",
		]) as BenchOptions;
		expect(o).toMatchObject({
			protocol: "tcp",
			target: "sim",
			json: true,
			report: "r.html",
			duration: 2.5,
			clients: 4,
			bytes: 16 * 1024 * 1024,
			config: { tcpChunk: "512", udpPort: "9" },
		});
		expect(parseBenchArgs(["udp"])).toMatchObject({ protocol: "udp", target: "node", json: false });
		expect(parseBenchArgs(["ws", "--device", "192.168.1.9"])).toMatchObject({ protocol: "ws", device: "192.168.1.9" });
		expect(parseBenchArgs(["--help"])).toBe("help");
		expect(() => parseBenchArgs([])).toThrow(/protocol/);
		expect(() => parseBenchArgs(["tcp", "--target", "board"])).toThrow(/node or sim/);
		expect(() => parseBenchArgs(["tcp", "--target", "node", "--device", "1.2.3.4"])).toThrow(/exclude/);
		expect(() => parseBenchArgs(["tcp", "--report", "r.txt"])).toThrow(/\.md or \.html/);
		expect(() => parseBenchArgs(["tcp", "--clients", "0"])).toThrow(/positive/);
	});

	it("keeps sim volumes below node's and applies overrides", () => {
		const node = benchSettings(parseBenchArgs(["tcp"]) as BenchOptions, "node") as TcpSettings;
		const sim = benchSettings(parseBenchArgs(["tcp"]) as BenchOptions, "sim") as TcpSettings;
		expect(sim.bytes).toBeLessThan(node.bytes);
		expect(sim.rttSamples).toBeLessThan(node.rttSamples);
		const custom = benchSettings(
			parseBenchArgs(["ws", "--duration", "1", "--clients", "3", "--samples", "7", "--rounds", "1"]) as BenchOptions,
			"node",
		) as WsSettings;
		expect(custom).toMatchObject({ seconds: 1, clients: 3, rttSamples: 7, rounds: 1 });
	});

	it("gives a host device free ports and a slot per client, the user's keys last", async () => {
		const options = parseBenchArgs(["tcp", "--clients", "5", "udpPort=7777"]) as BenchOptions;
		const config = await hostDeviceConfig(options, benchSettings(options, "node"));
		expect(Number(config.tcpPort)).toBeGreaterThan(0);
		expect(Number(config.wsPort)).toBeGreaterThan(0);
		expect(config.udpPort).toBe("7777");
		expect(config.tcpMaxClients).toBe("9");
		expect(config.wsMaxClients).toBe("9");
	});
});

describe("bench against the reference servers", () => {
	let standIn: ReferenceServers; // a second set of reference servers, as the "device"
	let dir: string;

	beforeAll(async () => {
		standIn = await startReference(["tcp", "udp", "ws"]);
		dir = fs.mkdtempSync(path.join(os.tmpdir(), "xsnk-bench-"));
	});
	afterAll(async () => {
		await standIn?.close();
		fs.rmSync(dir, { recursive: true, force: true });
	});

	it("starts echo servers that echo", async () => {
		const socket = await connect(standIn.tcp!);
		try {
			const back = readBytes(socket, 5);
			socket.write("hello");
			expect((await back).toString()).toBe("hello");
		} finally {
			socket.destroy();
		}
		const sender = await udpSender(standIn.udp!);
		try {
			expect((await sender.echo(Buffer.from("dgram"))).data.toString()).toBe("dgram");
		} finally {
			sender.close();
		}
		const ws = new WebSocket(standIn.ws!);
		try {
			await new Promise((resolve, reject) => {
				ws.once("open", resolve);
				ws.once("error", reject);
			});
			const message = new Promise<[Buffer, boolean]>(resolve => ws.once("message", (data: Buffer, binary) => resolve([data, binary])));
			ws.send(Buffer.from([1, 2, 3]));
			expect(await message).toEqual([Buffer.from([1, 2, 3]), true]);
		} finally {
			ws.terminate();
		}
	});

	const tcp: TcpSettings = {
		seconds: 3,
		bytes: 256 * 1024,
		writeSize: 64 * 1024,
		window: 128 * 1024,
		sizes: [1024],
		messageSize: 64,
		rttSamples: 20,
		rttWarmup: 2,
		clients: 3,
		clientMessages: 60,
		timeoutMs: 3000,
		rounds: 2,
	};
	const udp: UdpSettings = { seconds: 3, size: 64, sizes: [512], rttSamples: 20, rttWarmup: 2, window: 4, datagrams: 100, lossTimeoutMs: 1000, rounds: 1 };
	const ws: WsSettings = {
		seconds: 3,
		messageSize: 64,
		window: 4,
		messages: 100,
		bigSize: 64 * 1024,
		bytes: 512 * 1024,
		windowBytes: 128 * 1024,
		sizes: [1024],
		rttSamples: 20,
		rttWarmup: 2,
		clients: 3,
		clientMessages: 60,
		timeoutMs: 3000,
		rounds: 2,
	};

	function wellFormed(result: BenchResult, keys: string[]): void {
		expect(result).toMatchObject({ kind: "xs-netkit-bench", version: 1, target: "node" });
		expect(result.metrics.map(m => m.key)).toEqual(keys);
		for (const m of result.metrics) {
			expect(m.device, m.key).toBeGreaterThanOrEqual(0);
			expect(m.reference, m.key).toBeGreaterThanOrEqual(0);
			if (m.better) expect(m.ratio, m.key).toBeCloseTo(m.better === "higher" ? m.device! / m.reference! : m.reference! / m.device!, 10);
		}
		expect(result.roundTrips.device!.length).toBeGreaterThan(0);
		expect(result.roundTrips.reference!.length).toBeGreaterThan(0);
		expect(result.throughputBySize.length).toBeGreaterThanOrEqual(2);
		expect(JSON.parse(JSON.stringify(result))).toEqual(result);
	}

	it("runs a tiny TCP bench: every metric on both sides, ratios, report files", async () => {
		const { result, complete } = await runBench("tcp", { target: "node", tcp: standIn.tcp }, "stand-in", tcp);
		expect(result.notes).toEqual([]);
		expect(complete).toBe(true);
		wellFormed(result, ["tcp.throughput", "tcp.rtt.p50", "tcp.rtt.p99", "tcp.clients", "tcp.clients.p99"]);
		expect(result.roundTrips.device).toHaveLength(tcp.rttSamples);
		expect(result.throughputBySize.map(p => p.size)).toEqual([1024, 65536]);
		expect(result.settings).toMatchObject({ bytes: 256 * 1024, sizes: "1024" });

		const md = path.join(dir, "tcp.md");
		const files = writeReport(result, md);
		expect(files.map(f => path.basename(f)).sort()).toEqual(["tcp.md", "tcp.ratios.svg", "tcp.round-trip.svg", "tcp.throughput.svg"]);
		expect(fs.readFileSync(md, "utf8")).toContain("| metric | device | reference | ratio |");
		for (const svg of files.filter(f => f.endsWith(".svg")))
			expect(fs.readFileSync(svg, "utf8")).toMatch(/^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"[\s\S]*<\/svg>\n$/);
		const html = path.join(dir, "tcp.html");
		expect(writeReport(result, html)).toEqual([html]);
		expect(fs.readFileSync(html, "utf8")).toMatch(/<table>[\s\S]*<svg [\s\S]*<\/html>/);
		expect(() => writeReport(result, path.join(dir, "tcp.txt"))).toThrow(/\.md or \.html/);
	}, 30_000);

	it("runs a tiny UDP bench and counts losses", async () => {
		const { result, complete } = await runBench("udp", { target: "node", udp: standIn.udp }, "stand-in", udp);
		expect(result.notes).toEqual([]);
		expect(complete).toBe(true);
		wellFormed(result, ["udp.rtt.p50", "udp.rtt.p99", "udp.rate", "udp.lost"]);
		const lost = result.metrics.find(m => m.key === "udp.lost")!;
		expect(lost.detail?.device).toMatch(/^\d+ of \d+$/);
	}, 30_000);

	it("runs a tiny WebSocket bench", async () => {
		const { result, complete } = await runBench("ws", { target: "node", ws: standIn.ws }, "stand-in", ws);
		expect(result.notes).toEqual([]);
		expect(complete).toBe(true);
		wellFormed(result, ["ws.rate", "ws.rtt.p50", "ws.rtt.p99", "ws.throughput", "ws.clients", "ws.clients.p99"]);
		expect(result.throughputBySize.map(p => p.size)).toEqual([64, 1024, 65536]);
	}, 30_000);

	it("records a side that fails as a note and goes on", async () => {
		// Answers the first datagram (the reachability probe), then nothing.
		const closed = dgram.createSocket("udp4");
		let answered = 0;
		closed.on("message", (data, from) => {
			if (answered++ === 0) closed.send(data, from.port, from.address);
		});
		await new Promise<void>(resolve => closed.bind(0, "127.0.0.1", () => resolve()));
		const port = closed.address().port;
		try {
			const { result, complete } = await runBench("udp", { target: "node", udp: { host: "127.0.0.1", port } }, "silent", {
				...udp,
				rttSamples: 2,
				rttWarmup: 0,
				datagrams: 4,
				seconds: 0.5,
				lossTimeoutMs: 100,
			});
			expect(complete).toBe(false);
			expect(result.notes.some(n => /^device: round trips, 64 B failed: no datagram echoed/.test(n))).toBe(true);
			const p50 = result.metrics.find(m => m.key === "udp.rtt.p50")!;
			expect(p50.device).toBeUndefined();
			expect(p50.reference).toBeGreaterThan(0);
			expect(p50.ratio).toBeUndefined();
		} finally {
			closed.close();
		}
	}, 30_000);

	it("refuses a protocol the device does not serve, or a device that does not answer", async () => {
		await expect(runBench("ws", { target: "node" }, "no ws", ws)).rejects.toThrow(/no WebSocket endpoint/);
		const port = await freeTcpPort();
		await expect(runBench("tcp", { target: "node", tcp: { host: "127.0.0.1", port } }, "nobody", tcp)).rejects.toThrow(/does not answer: connect ECONNREFUSED/);
	});

	it("alternates device and reference in ABBA rounds and drops a side after it fails", async () => {
		const ctx = createContext();
		const builder = new ResultBuilder("tcp", "node", { device: "d", reference: "r" }, {});
		const order: string[] = [];
		const parts = await alternate(ctx, builder, "w", 4, async side => {
			order.push(side);
			if (side === "reference" && order.length > 4) throw new Error("gone");
			return order.length;
		});
		expect(order).toEqual(["device", "reference", "reference", "device", "device", "reference", "device"]);
		expect(parts).toEqual({ device: [1, 4, 5, 7], reference: undefined });
		expect(builder.finish().notes).toEqual(["reference: w (round 3/4) failed: gone"]);
	});

	it("shows no progress unless given a stream", async () => {
		const ctx = createContext();
		const builder = new ResultBuilder("tcp", "node", { device: "d", reference: "r" }, {});
		expect(
			await ctx.phase(builder, "device", "x", async live => {
				live.count = 3;
				return 42;
			}),
		).toBe(42);
		expect(
			await ctx.phase(builder, "reference", "y", async () => {
				throw new Error("boom");
			}),
		).toBeUndefined();
		expect(builder.finish().notes).toEqual(["reference: y failed: boom"]);
	});
});
