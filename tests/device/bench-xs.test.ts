// `host-harness bench xs` end to end on the simulator's build, with a tiny
// count: the JSON has every section, every workload ran, and the exact
// figures (allocations: the collector is off while they are counted) are
// what the hot paths promise. Nothing here asserts on speed.
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { type BenchXsResult, benchXs, prepareBaseline, type XsRow } from "../../host-harness/bench/xs.js";
import { planTiers } from "../../host-harness/device/tiers.js";
import { projectRoot } from "../../host-harness/lib/project.js";
import { runCommand } from "./run-command.js";

const plan = planTiers();
const runs = plan.tiers.some(t => t.target === "sim");
if (!runs)
	console.log(
		`bench xs suite skipped: ${plan.skipped.find(line => line.startsWith("sim tier"))?.replace(/^sim tier skipped: /, "") ?? `TARGETS=${process.env.TARGETS ?? ""} leaves out the simulator`}`,
	);

describe.skipIf(!runs)("bench xs (XS engine, simulator build)", () => {
	let result: BenchXsResult;
	const row = (section: string, group: string, impl: string): XsRow => {
		const found = result.rows.find(r => r.section === section && r.group === group && r.impl === impl);
		if (!found) throw new Error(`no row ${section} / ${group} / ${impl}`);
		return found;
	};

	beforeAll(async () => {
		// The baseline: the commit before the receive path stopped copying payloads (its reader copies; ours must not).
		result = await benchXs({ ms: 1, rounds: 1, count: 2, only: "", json: true, baseline: "51e55cb" });
	}, 600_000);

	it("measures every section, every workload without an error", () => {
		expect(new Set(result.rows.map(r => r.section))).toEqual(
			new Set(["ws receive", "ws send", "receive", "validate", "send server", "send client", "tcp echo", "memory", "check"]),
		);
		expect(result.rows.filter(r => r.error).map(r => `${r.section} ${r.group} ${r.impl}: ${r.error}`)).toEqual([]);
		expect(result.xs.slotSize).toBeGreaterThanOrEqual(16);
		for (const r of result.rows.filter(r => r.section !== "memory" && r.section !== "check")) {
			expect(r.n, `${r.group} ${r.impl}`).toBe(2);
			expect(r.ns).toBeGreaterThan(0);
			expect(r.messagesPerSecond).toBeGreaterThan(0);
			expect(r.boardSlotBytes).toBe(r.slots! * 16);
		}
		for (const impl of ["ours", "baseline", "moddable client", "ceiling", "floor", "read", "ours via socket", "ours whole", "baseline whole"])
			expect(row("receive", "64 binary, one frame", impl).chunkBytes).toBeGreaterThan(0);
		expect(result.summary.length).toBeGreaterThan(10);
	});

	it("sends and receives messages through a WebSocket connection over a socket, beside Moddable's client", () => {
		for (const kind of ["binary", "text"])
			for (const section of ["ws receive", "ws send"])
				for (const size of [64, 1024, 65536])
					for (const impl of ["ours", "moddable client"])
						expect(row(section, `${size} ${kind}`, impl).messagesPerSecond, `${section} ${size} ${kind} ${impl}`).toBeGreaterThan(0);
		expect(result.summary.slice(0, 12).map(s => s.figure)).toEqual(
			["binary", "text"].flatMap(kind =>
				["ws receive", "ws send"].flatMap(section => [64, 1024, 65536].map(size => `${section} ${size} B ${kind}: ours ÷ Moddable client`)),
			),
		);
	});

	it("receives a binary message that fits in one read with no chunk beyond the read", () => {
		for (const size of [64, 1024, 65536]) {
			const group = `${size} binary, one frame`;
			expect(row("receive", group, "ours").chunkBytes, group).toBe(row("receive", group, "read").chunkBytes);
			// The baseline's reader copied the payload out of the read.
			expect(row("receive", group, "baseline").chunkBytes!, group).toBeGreaterThan(row("receive", group, "read").chunkBytes!);
			expect(row("send server", `${size} binary`, "ours header").chunkBytes).toBeGreaterThan(0);
		}
	});

	it("validates UTF-8 and unmasks natively on XS: the C loops agree with the JS rules and a byte-at-a-time reference, and validation allocates nothing per message", () => {
		// bench/xs/utf8-check.ts on XS: sequences over the rules' boundary bytes, long text in offset views, validate()'s refusals.
		const check = row("check", "UTF-8: Utf8Validator (websocket/utf8.c) vs the last JS validator", "ours");
		expect(check.error).toBeUndefined();
		expect(check.count!).toBeGreaterThan(100_000);
		// bench/xs/mask-check.ts on XS: websocket/mask.c at every alignment against a byte-at-a-time reference.
		const mask = row("check", "masking: unmask (websocket/mask.c) vs a byte-at-a-time reference", "ours");
		expect(mask.error).toBeUndefined();
		expect(mask.count!).toBeGreaterThan(10_000);
		for (const size of [64, 1024, 65536])
			for (const kind of ["ascii", "mixed"]) {
				expect(row("validate", `${size} ${kind}`, "ours").chunkBytes, `${size} ${kind}`).toBe(0);
				expect(row("validate", `${size} ${kind}`, "ours").slots, `${size} ${kind}`).toBe(0);
			}
	});

	it("holds a half-received 64 KiB message in streaming mode without its payload", () => {
		expect(row("memory", "in-flight 64 KiB message (half received)", "ours streaming").chunkBytes!).toBeLessThan(4096);
		expect(row("memory", "in-flight 64 KiB message (half received)", "ours whole").chunkBytes!).toBeGreaterThanOrEqual(65536);
	});

	it("builds no baseline without --baseline, and refuses a ref that is not a commit", () => {
		const none = prepareBaseline("");
		expect(none.commit).toBe("");
		expect(() => prepareBaseline("no-such-ref-anywhere")).toThrow(/not a commit/);
	});

	it("prints JSON from the command line", async () => {
		const out = await runCommand(
			process.execPath,
			[path.join(projectRoot, "build/node/host-harness/cli.js"), "bench", "xs", "--count", "1", "--only", "memory", "--json"],
			{ cwd: projectRoot, encoding: "utf8", timeout: 300_000 },
		);
		expect(out.status, out.stderr).toBe(0);
		const parsed = JSON.parse(out.stdout) as BenchXsResult;
		expect(parsed.rows.length).toBeGreaterThan(0);
		expect(parsed.rows.every(r => r.section === "memory")).toBe(true);
	}, 300_000);
});
