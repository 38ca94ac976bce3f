// host-harness as people use it: --help everywhere, and `check` running the
// oracle suites against a device with one line per case and a JSON form.
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { projectRoot } from "../../host-harness/device/project.js";

const cli = (...args: string[]) => spawnSync(process.execPath, [path.join(projectRoot, "build/node/host-harness/cli.js"), ...args],
	{ cwd: projectRoot, encoding: "utf8", timeout: 120_000, env: { ...process.env, TARGETS: undefined } });

describe("host-harness CLI", () => {
	it("lists its commands and answers --help for each", () => {
		const help = cli("--help");
		expect(help.status).toBe(0);
		for (const command of ["device", "start", "check", "wifi"])
			expect(help.stdout).toMatch(new RegExp(`^  ${command} `, "m"));
		for (const command of ["check", "wifi"]) {
			const out = cli(command, "--help");
			expect(out.status, out.stderr).toBe(0);
			expect(out.stdout).toMatch(/usage: host-harness/);
			expect(out.stdout).toMatch(/Examples?:/);
		}
		const wrong = cli("nonsense");
		expect(wrong.status).toBe(2);
		expect(wrong.stderr).toMatch(/unknown command "nonsense"/);
	});

	it("check runs the suites against a device and reports every case", () => {
		const out = cli("check", "--target", "node", "--only", "udp", "--json");
		expect(out.status, out.stderr).toBe(0);
		const report = JSON.parse(out.stdout.slice(out.stdout.indexOf("{")));
		expect(report.cases.filter((c: { state: string }) => c.state === "failed")).toEqual([]);
		expect(report.passed).toBeGreaterThanOrEqual(8);		// smoke and UDP cases
		expect(report.cases.map((c: { name: string }) => c.name)).toContain("UDP echo server on 'node' > echoes a 1472-byte datagram to its sender unchanged");
	}, 120_000);
});
