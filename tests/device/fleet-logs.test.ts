// The logs of many devices at once (host-harness logs --device a,b,c, and
// --devices FILE): devices on LAN stand-ins (a namespace each, as the lan
// tiers make them) send their logs over their log route (app/ws-log); one
// link is down, so nothing answers there. Every reachable device's lines
// come prefixed by its name in one column, the silent one is named as
// unreachable in one line, the filters apply to every device, and Ctrl-C
// ends it with 130.

import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { type LanDevice, startLanDevice } from "../../host-harness/device/lan.js";
import { createLink, whyNoNamespaces } from "../../host-harness/lib/netns.js";
import { projectRoot } from "../../host-harness/lib/project.js";
import { spawn } from "./child-processes.js";
import { tiers } from "./device-under-test.js";
import { useFleet } from "./fleet-fixture.js";

const why = whyNoNamespaces();
if (why) console.log(`fleet logs suite skipped: ${why}`);
const hasNode = tiers.some(t => t.target === "node");
const hasSim = tiers.some(t => t.target === "sim");

/** host-harness logs, running: its output so far, a wait for a pattern in it, Ctrl-C. */
function logs(args: string[]) {
	const child = spawn(process.execPath, [path.join(projectRoot, "build/node/host-harness/cli.js"), "logs", ...args], {
		cwd: projectRoot,
		env: { ...process.env, TARGETS: undefined },
	});
	const output = { stdout: "", stderr: "" };
	const waiters: (() => void)[] = [];
	const changed = () => waiters.splice(0).forEach(w => w());
	child.stdout.on("data", (d: Buffer) => {
		output.stdout += d;
		changed();
	});
	child.stderr.on("data", (d: Buffer) => {
		output.stderr += d;
		changed();
	});
	const exited = new Promise<number | null>(resolve =>
		child.once("exit", code => {
			changed();
			resolve(code);
		}),
	);
	return {
		output,
		/** Until `pattern` is in stdout ("out") or stderr ("err"); fails with the output at the deadline. */
		async waitFor(stream: "out" | "err", pattern: RegExp, timeoutMs = 30_000): Promise<void> {
			const deadline = Date.now() + timeoutMs;
			while (!pattern.test(stream === "out" ? output.stdout : output.stderr)) {
				if (Date.now() > deadline || child.exitCode !== null)
					throw new Error(
						`no ${pattern} on ${stream === "out" ? "stdout" : "stderr"}\n--- stdout\n${output.stdout.slice(-3000)}\n--- stderr\n${output.stderr.slice(-2000)}`,
					);
				await new Promise<void>(resolve => {
					waiters.push(resolve);
					setTimeout(resolve, 500);
				});
			}
		},
		interrupt: () => {
			child.kill("SIGINT");
			return exited;
		},
		exited,
	};
}

/** One TCP echo round on the device, so its log says something. */
function touch(device: LanDevice, text: string): Promise<void> {
	return new Promise((resolve, reject) => {
		const socket = net.connect(8080, device.link.deviceAddress, () => socket.write(text));
		socket.once("data", () => socket.end());
		socket.once("close", () => resolve());
		socket.once("error", reject);
	});
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

describe.runIf(!why && hasNode)("host-harness logs on a fleet", () => {
	const fleet = useFleet([{}, {}], hasSim, "xsnk-fleet-logs-");
	const devices = fleet.devices;

	it("interleaves every device's lines, each after its name in one column; names the unreachable one; Ctrl-C is 130", async () => {
		const names = [...devices.map(d => d.link.deviceAddress), fleet.silent.deviceAddress];
		const width = Math.max(...names.map(n => n.length));
		const run = logs(["--device", names.join(","), "--no-color"]);
		await run.waitFor(
			"err",
			new RegExp(`^logs: ${escapeRegExp(fleet.silent.deviceAddress)}: unreachable: ${escapeRegExp(fleet.silent.deviceAddress)}:80: `, "m"),
		);
		for (const device of devices)
			await run.waitFor(
				"err",
				new RegExp(`^logs: ${escapeRegExp(device.link.deviceAddress)}: following ws://${escapeRegExp(device.link.deviceAddress)}/log$`, "m"),
			);
		for (const [i, device] of devices.entries()) await touch(device, `hello from ${i}`);
		for (const device of devices) {
			// The device's own line, as it logged it, after its name padded to the widest name.
			const prefix = `^${escapeRegExp(device.link.deviceAddress.padEnd(width))}  \\d\\d:\\d\\d:\\d\\d\\.\\d{3} `;
			await run.waitFor(
				"out",
				new RegExp(`${prefix}I \\(\\d+\\) ws-server: Log: ${escapeRegExp(device.link.hostAddress)}:\\d+ follows the log, 1 following$`, "m"),
			);
			await run.waitFor("out", new RegExp(`${prefix}I \\(\\d+\\) tcp-server: Socket accepted ip address: ${escapeRegExp(device.link.hostAddress)}:\\d+$`, "m"));
		}
		expect(run.output.stdout).not.toContain(fleet.silent.deviceAddress);
		expect(run.output.stderr.match(/unreachable/g)).toHaveLength(1);
		expect(await run.interrupt()).toBe(130);
	}, 180_000);

	it("takes a devices file and applies --tag to every device; --json names each line's device", async () => {
		const [a, b] = devices;
		const file = path.join(fleet.dir, "jig.txt");
		fs.writeFileSync(file, `# the jig's boards\n${a.link.deviceAddress} wsPort=80\n${b.link.deviceAddress}\n${fleet.silent.deviceAddress}\n`);
		const run = logs(["--devices", file, "--tag", "tcp-server", "--json"]);
		await run.waitFor("err", new RegExp(`^logs: ${escapeRegExp(b.link.deviceAddress)}: following`, "m"));
		await run.waitFor("err", new RegExp(`^logs: ${escapeRegExp(a.link.deviceAddress)}: following`, "m"));
		await touch(a, "to a");
		await touch(b, "to b");
		for (const device of [a, b])
			await run.waitFor(
				"out",
				new RegExp(`"type":"log","device":"${escapeRegExp(device.link.deviceAddress)}","text":"I \\(\\d+\\) tcp-server: Connection closed`),
			);
		await run.waitFor("err", new RegExp(`^logs: ${escapeRegExp(fleet.silent.deviceAddress)}: unreachable`, "m"));
		expect(await run.interrupt()).toBe(130);
		const objects = run.output.stdout
			.trim()
			.split("\n")
			.map(line => JSON.parse(line) as { type: string; device: string; text?: string });
		const lines = objects.filter(o => o.type === "log");
		expect(new Set(lines.map(l => l.device))).toEqual(new Set([a.link.deviceAddress, b.link.deviceAddress]));
		// --tag tcp-server: the route's own "follows the log" line (ws-server) is left out on both.
		expect(lines.filter(l => !/^[EWID] \(\d+\) tcp-server: /.test(l.text ?? ""))).toEqual([]);
		expect(objects.filter(o => o.type === "unreachable").map(o => o.device)).toEqual([fleet.silent.deviceAddress]);
	}, 180_000);

	it("asks again for a log that closed (the device restarted) and follows it again", async () => {
		const link = createLink();
		let device = await startLanDevice("node", {}, { link, keepLink: true });
		try {
			const address = link.deviceAddress;
			const run = logs(["--device", address]);
			await run.waitFor("out", /ws-server: Log: \S+ follows the log, 1 following$/m);
			await device.stop();
			await run.waitFor("err", new RegExp(`^logs: ${escapeRegExp(address)}: its log closed \\(\\d+\\); asking again every 2 s$`, "m"));
			device = await startLanDevice("node", {}, { link, keepLink: true });
			await run.waitFor("err", new RegExp(`^logs: ${escapeRegExp(address)}: following its log again$`, "m"));
			await touch(device, "again");
			await run.waitFor("out", /tcp-server: Socket accepted ip address: /);
			expect(await run.interrupt()).toBe(130);
		} finally {
			await device.stop();
			link.remove();
		}
	}, 120_000);

	it("says in one line that a followed log went quiet when its device vanishes (no FIN: the link down), and follows it again once it is back", async () => {
		const link = createLink();
		const device = await startLanDevice("node", {}, { link, keepLink: true });
		try {
			const address = link.deviceAddress;
			const run = logs(["--device", address]);
			await run.waitFor("out", /ws-server: Log: \S+ follows the log, 1 following$/m);
			link.down();
			// Pinged every 5 s, quiet after 3 unanswered: well within this wait.
			await run.waitFor(
				"err",
				new RegExp(`^logs: ${escapeRegExp(address)}: its log went quiet \\(no answer to a ping for \\d+ s\\); asking again every 2 s$`, "m"),
				40_000,
			);
			link.up();
			await run.waitFor("err", new RegExp(`^logs: ${escapeRegExp(address)}: following its log again$`, "m"), 40_000);
			expect(run.output.stderr.match(/went quiet/g)).toHaveLength(1);
			expect(await run.interrupt()).toBe(130);
		} finally {
			await device.stop();
			link.remove();
		}
	}, 120_000);

	it("says in one line when no device can be followed, and exits 1", async () => {
		const run = logs(["--device", fleet.silent.deviceAddress]);
		expect(await run.exited).toBe(1);
		expect(run.output.stderr).toMatch(
			new RegExp(`^logs: ${escapeRegExp(fleet.silent.deviceAddress)}: unreachable: .*\nlogs: the device could not be followed\n$`),
		);
	}, 60_000);
});
