// host-harness soak as a command (the soak itself is not a test: it runs for
// minutes). A short run against the Node-hosted device proves it mixes good
// clients with faulty peers, judges them, reports each interval and the
// device's state after the load; bad arguments are refused.
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { projectRoot } from "../../host-harness/device/project.js";

const cli = (...args: string[]) => spawnSync(process.execPath, [path.join(projectRoot, "build/node/host-harness/cli.js"), ...args],
	{ cwd: projectRoot, encoding: "utf8", timeout: 120_000, env: { ...process.env, TARGETS: undefined } });

describe("host-harness soak", () => {
	it("runs good clients and faulty peers against the node device, judges every echo, and finds it whole afterwards", () => {
		const out = cli("soak", "--target", "node", "--minutes", "0.1", "--interval", "2", "--json");
		expect(out.status, out.stderr.slice(-2000)).toBe(0);
		const report = JSON.parse(out.stdout);
		expect(report.passed).toBe(true);
		expect(report.total.errors).toBe(0);
		expect(report.total.faults).toBeGreaterThan(10);
		expect(report.total.messages).toBeGreaterThan(10);
		expect(report.intervals.length).toBeGreaterThanOrEqual(2);
		expect(report.after).toEqual(report.baseline);
		expect(report.servedAfter).toBe(true);
		expect(out.stderr).toMatch(/minute +0\.0\/0\.1: \d+ connections, \d+ messages/);		// elapsed of the total
	}, 120_000);

	it("refuses bad arguments with the reason and exit code 2", () => {
		const none = cli("soak");
		expect(none.status).toBe(2);
		expect(none.stderr).toMatch(/--target node\|sim or --device/);
		const bad = cli("soak", "--target", "node", "--minutes", "soon");
		expect(bad.status).toBe(2);
		expect(bad.stderr).toMatch(/--minutes needs a positive number, not "soon"/);
	});
});
