// The WebSocket conformance set (our Autobahn-equivalent, host-harness/conformance)
// against the device's server on every tier: every case must pass, and after
// each case a fresh client must be served. The grouped table is printed and
// written to build/reports/ws-conformance-<target>.txt.

import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { formatText, summarize } from "../../host-harness/conformance/report.js";
import { runConformance } from "../../host-harness/conformance/runner.js";
import { projectRoot } from "../../host-harness/lib/project.js";
import { tiers, useDevice } from "./device-under-test.js";

// Not on the lan tiers: they run node's and the simulator's device over a kernel link, which
// the lwip tier's run (the board's stack over a link) and the lan tiers' own suites already cover.
describe.each(tiers.filter(tier => !tier.name.startsWith("lan-")))("WebSocket conformance on $name", tier => {
	const device = useDevice(tier, { wsMaxClients: "32" });

	it("passes every case, with the close code each rule demands", async () => {
		const results = await runConformance(device.endpoints.ws!, {
			// Full scale where the device is fastest (node).
			scale: tier.pace === "node" ? "full" : "small",
			// Cases are latency-bound (the simulator polls every 20 ms): run several at once, within the
			// client limit (32 where this run configures the device; a board, lwip's shared device
			// included, keeps its default 4). A case may hold two of the device's clients at once: its
			// connection, which the device may still be closing, and the fresh client that follows it;
			// and a connection its case left mid-echo is let go only when the device's next probe finds
			// it gone (the platforms report no error found by a write), which a loaded machine delays.
			concurrency: tier.target === "board" ? 2 : 8,
			roundTrips: tier.pace === "node" ? 50 : 10,
			// Every wait in a case is for an answer, so a long budget costs only a failing case; the
			// device shares two cores with the other device run and its cases' large echoes.
			caseTimeoutMs: 15_000,
		});
		const table = formatText(results);
		fs.mkdirSync(path.join(projectRoot, "build", "reports"), { recursive: true });
		fs.writeFileSync(path.join(projectRoot, "build", "reports", `ws-conformance-${tier.name}.txt`), table);
		const summary = summarize(results);
		console.log(`WebSocket conformance on ${tier.name}: ${summary.passed}/${summary.total} cases pass`);
		expect(results.length).toBeGreaterThanOrEqual(250);
		// A failure shows the device's own word on refusals (capacity, handshakes), where it has a log.
		const refusals = (device.process?.log ?? []).filter(l => /refused/i.test(l.message)).map(l => l.raw);
		expect(
			results.filter(r => !r.passed).map(r => `${r.id} ${r.description}: expected ${r.expected}, observed ${r.observed}`),
			`the device's refusals during the run (last 20 of ${refusals.length}):\n${refusals.slice(-20).join("\n")}`,
		).toEqual([]);
	}, 600_000);
});
