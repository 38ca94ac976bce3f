// host-harness soak as a command (the soak itself is not a test: it runs for
// minutes). A short run against the Node-hosted device proves it mixes good
// clients with faulty peers, judges them, reports each interval and the
// device's state after the load; bad arguments are refused.

import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { freeTcpPort } from "../../host-harness/lib/ports.js";
import { projectRoot } from "../../host-harness/lib/project.js";
import { spawn } from "./child-processes.js";
import { runCommand } from "./run-command.js";

const cli = (...args: string[]) =>
	runCommand(process.execPath, [path.join(projectRoot, "build/node/host-harness/cli.js"), ...args], {
		cwd: projectRoot,
		encoding: "utf8",
		timeout: 120_000,
		env: { ...process.env, TARGETS: undefined },
	});

describe("host-harness soak", () => {
	it("runs good clients and faulty peers against the node device, judges every echo, and finds it whole afterwards", async () => {
		const out = await cli("soak", "--target", "node", "--minutes", "0.1", "--interval", "2", "--json");
		// With --json the judgement is on stdout: show both when it fails.
		expect(out.status, `${out.stderr.slice(-2000)}\n${out.stdout.slice(-3000)}`).toBe(0);
		const report = JSON.parse(out.stdout);
		expect(report.passed).toBe(true);
		expect(report.total.errors).toBe(0);
		expect(report.total.faults).toBeGreaterThan(10);
		expect(report.total.messages).toBeGreaterThan(10);
		expect(report.intervals.length).toBeGreaterThanOrEqual(2);
		expect(report.after).toEqual(report.baseline);
		expect(report.servedAfter).toBe(true);
		expect(out.stderr).toMatch(/minute +0\.0\/0\.1: \d+ connections, \d+ messages/); // elapsed of the total
	}, 120_000);

	it("refuses bad arguments with the reason and exit code 2", async () => {
		const none = await cli("soak");
		expect(none.status).toBe(2);
		expect(none.stderr).toMatch(/--target node\|sim or --device/);
		const bad = await cli("soak", "--target", "node", "--minutes", "soon");
		expect(bad.status).toBe(2);
		expect(bad.stderr).toMatch(/--minutes needs a positive number, not "soon"/);
	});

	it("says in one line, before any load, that a device it cannot reach does not answer", async () => {
		const port = await freeTcpPort();
		const out = await cli("soak", "--device", "127.0.0.1", "--config", `tcpPort=${port}`, "--config", `wsPort=${port}`, "--minutes", "1");
		expect(out.status).toBe(1);
		expect(out.stderr).toBe(`soak: cannot reach 127.0.0.1: tcp 127.0.0.1:${port}: connect ECONNREFUSED; ws 127.0.0.1:${port}: connect ECONNREFUSED\n`);
	});

	it("Ctrl-C ends the load, judges the device on what was done, and exits 130", async () => {
		// detached: the soak leads a process group of its own, as a terminal's foreground job does, and
		// Ctrl-C goes to that whole group: the device the soak started must not be in it.
		const child = spawn(
			process.execPath,
			[path.join(projectRoot, "build/node/host-harness/cli.js"), "soak", "--target", "node", "--minutes", "5", "--interval", "1"],
			{ cwd: projectRoot, env: { ...process.env, TARGETS: undefined }, detached: true },
		);
		let stdout = "",
			stderr = "";
		child.stdout.on("data", (d: Buffer) => {
			stdout += d;
		});
		child.stderr.on("data", (d: Buffer) => {
			stderr += d;
		});
		const exited = new Promise<number | null>(resolve => child.once("exit", code => resolve(code)));
		while (!/minute +0\.0\/5: \d+ connections/.test(stdout) && child.exitCode === null) await new Promise(r => setTimeout(r, 100));
		process.kill(-child.pid!, "SIGINT"); // the terminal's Ctrl-C: to the foreground process group
		expect(await exited, stderr).toBe(130);
		expect(stdout).toMatch(/^soak: \d+ connections, \d+ messages/m);
		expect(stdout).toMatch(/^INTERRUPTED \(passing so far\)$/m);
	}, 120_000);
});
