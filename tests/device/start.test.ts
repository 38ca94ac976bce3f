// npm start: the whole system live on this PC, judged by its transcript:
// device and harness lines, every exchange matching, a clean stop.

import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { projectRoot } from "../../host-harness/lib/project.js";
import { tiers } from "./device-under-test.js";
import { runCommand } from "./run-command.js";

describe.each(tiers.filter(t => t.target !== "board"))("npm start on $target", tier => {
	it("runs the device, the peers and the dialogue, then stops cleanly after --duration", async () => {
		const run = await runCommand(
			process.execPath,
			[path.join(projectRoot, "build/node/host-harness/cli.js"), "start", "--target", tier.target, "--duration", "4"],
			{
				cwd: projectRoot,
				encoding: "utf8",
				timeout: 90_000,
			},
		);
		const out = run.stdout;
		expect(run.status, `${out}\n${run.stderr}`).toBe(0);
		// the boot sequence: WiFi, then an address, then the services
		const boot = [/wifi: station started/, /wifi: got IP/, /app: services up/].map(p => out.search(p));
		expect(
			boot.every(i => i >= 0),
			out,
		).toBe(true);
		expect([...boot].sort((a, b) => a - b)).toEqual(boot);
		expect(out).toMatch(/\[harness\] device's TCP client greeted: "Hello World!"/);
		expect(out).toMatch(/\[harness\] tcp → device:\d+ \d+ bytes, echo matches/);
		expect(out).toMatch(/\[harness\] udp → device:\d+ \d+ bytes, echo matches/);
		expect(out).toMatch(/\[harness\] peer → device's TCP client \d+ bytes, echo matches/);
		expect(out).toMatch(/\[harness\] ws → ws:\/\/127\.0\.0\.1:\d+\/ws text of \d+ bytes, echo matches/);
		expect(out).toMatch(/\[harness\] device's WebSocket client sent "hello 0000" \(10 bytes\); echoed back/);
		const final = /\[harness\] stopped\. tcp-server (\d+) ok, \d+ B \| udp-server (\d+) ok, \d+ B \| ws-server (\d+) ok, \d+ B \| tcp-client (\d+) ok/.exec(
			out,
		);
		expect(final, out).not.toBeNull();
		expect(Number(final![1])).toBeGreaterThanOrEqual(2);
		expect(out).not.toMatch(/failed|DIFFERS/);
		// the schedule explained, and the device's WebSocket client session ended with a closing handshake
		expect(out).toMatch(/\[harness\] each round \(1 s\): .*64 \+ 100 × \(round mod 8\) random bytes/);
		expect(out).toMatch(/\[harness\] the harness closed the device's WebSocket client session with 1000 \(stopping\)/);
		expect(out).not.toMatch(/closed the session with 1006/);
	}, 120_000);
});

describe.runIf(tiers.some(t => t.target === "node"))("npm start --quiet --only --config", () => {
	it("prints only the counters of the services asked for, and takes device config", async () => {
		const run = await runCommand(
			process.execPath,
			[
				path.join(projectRoot, "build/node/host-harness/cli.js"),
				"start",
				"--target",
				"node",
				"--duration",
				"6",
				"--quiet",
				"--only",
				"udp,tcp",
				"--config",
				"tcpMaxClients=3",
			],
			{ cwd: projectRoot, encoding: "utf8", timeout: 90_000 },
		);
		expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);
		const lines = run.stdout.trim().split("\n");
		expect(
			lines.every(
				line => /^\[harness\] (counters|stopped\.) tcp-server \d+ ok, \d+ B \| udp-server \d+ ok, \d+ B$/.test(line.replace("counters:", "counters")),
				run.stdout,
			),
		).toBe(true);
		expect(lines.at(-1)).toMatch(/^\[harness\] stopped\. tcp-server [1-9]\d* ok/);
		expect(run.stdout).not.toMatch(/\[device\]|ws-server|tcp-client/);
	}, 120_000);
});
